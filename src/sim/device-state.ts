// Everything one simulated phone remembers: properties, settings, packages, screen, files.
// Properties not under persist.* and running apps are lost on reboot, as on a real device.
import { createHash } from 'node:crypto';
import { formatDeviceBanner } from '../adb/wire/index.js';
import { DeviceFiles } from './storage.js';
import { dir, file, type VNode } from './vfs.js';

/** Per instance, what pushed files may hold (in the simulator's memory) unless the fleet says otherwise. */
export const DEFAULT_STORAGE_BYTES = 256 * 1024 * 1024;

interface Profile {
  name: string;
  model: string;
  device: string;
  size: string;
  density: number;
}

const PROFILES: readonly Profile[] = [
  { name: 'kpsim_phone', model: 'KooSim Phone', device: 'kpsim', size: '1080x2400', density: 440 },
  { name: 'kpsim_tablet', model: 'KooSim Tab', device: 'kpsim_tab', size: '1600x2560', density: 320 },
  { name: 'kpsim_lite', model: 'KooSim Lite', device: 'kpsim_lite', size: '720x1280', density: 320 },
];

export const KERNEL_RELEASE = '5.15.110-android13-4-00001-gadbf1eet';
export const KERNEL_BUILD = '#1 SMP PREEMPT Fri Sep 1 00:00:00 UTC 2023';

export interface PackageInfo {
  name: string;
  path: string;
  system: boolean;
  activity: string;
  versionCode: number;
  versionName: string;
}

const SYSTEM_PACKAGES: readonly [string, string, string][] = [
  ['android', '/system/framework/framework-res.apk', ''],
  ['com.android.settings', '/system/priv-app/Settings/Settings.apk', '.Settings'],
  ['com.android.systemui', '/system/priv-app/SystemUI/SystemUI.apk', ''],
  ['com.android.launcher3', '/system/priv-app/Launcher3/Launcher3.apk', '.Launcher'],
  ['com.android.phone', '/system/priv-app/TeleService/TeleService.apk', ''],
  ['com.android.shell', '/system/priv-app/Shell/Shell.apk', ''],
  ['com.android.providers.settings', '/system/priv-app/SettingsProvider/SettingsProvider.apk', ''],
  ['com.android.providers.media', '/system/priv-app/MediaProvider/MediaProvider.apk', ''],
  ['com.android.inputmethod.latin', '/system/app/LatinIME/LatinIME.apk', ''],
  ['com.android.camera2', '/system/app/Camera2/Camera2.apk', 'com.android.camera.CameraLauncher'],
  ['com.android.contacts', '/system/priv-app/Contacts/Contacts.apk', '.activities.PeopleActivity'],
  ['com.android.dialer', '/system/priv-app/Dialer/Dialer.apk', '.main.impl.MainActivity'],
  ['com.android.documentsui', '/system/priv-app/DocumentsUI/DocumentsUI.apk', '.LauncherActivity'],
  ['com.android.webview', '/system/app/webview/webview.apk', ''],
];

const USER_PACKAGES: readonly [string, string][] = [
  ['com.example.shop', '.MainActivity'],
  ['com.example.game', '.GameActivity'],
  ['org.example.notes', '.NotesActivity'],
];

export type SettingsNamespace = 'system' | 'secure' | 'global';

export class DeviceState {
  readonly serial: string;
  readonly profile: Profile;
  props = new Map<string, string>();
  readonly settings: Record<SettingsNamespace, Map<string, string>>;
  readonly packages: PackageInfo[] = [];
  readonly running = new Set<string>();
  sizeOverride: string | null = null;
  densityOverride: number | null = null;
  bootTime = Date.now();
  /** The system image's tree is one for the whole process; what an instance writes is its own (storage.ts). */
  readonly files: DeviceFiles;
  get root(): VNode {
    return this.files.root;
  }
  /** Set by the instance: `reboot` typed in a shell asks the instance to go down. */
  onReboot: () => void = () => {};

  /** storageBytes: what pushed files may hold in all (the instance's free space on /data) */
  constructor(serial: string, index: number, storageBytes = DEFAULT_STORAGE_BYTES) {
    this.serial = serial;
    SHARED_ROOT ??= androidTree();
    this.files = new DeviceFiles(SHARED_ROOT, storageBytes, () => this.props);
    this.profile = PROFILES[index % PROFILES.length]!;
    this.#bootProps();
    const androidId = createHash('sha256').update(serial).digest('hex').slice(0, 16);
    this.settings = {
      system: new Map([
        ['font_scale', '1.0'],
        ['screen_brightness', '102'],
        ['screen_off_timeout', '60000'],
        ['sound_effects_enabled', '1'],
      ]),
      secure: new Map([
        ['android_id', androidId],
        ['default_input_method', 'com.android.inputmethod.latin/.LatinIME'],
        ['location_mode', '3'],
        ['screensaver_enabled', '0'],
      ]),
      global: new Map([
        ['adb_enabled', '1'],
        ['airplane_mode_on', '0'],
        ['device_name', this.profile.model],
        ['stay_on_while_plugged_in', '0'],
        ['wifi_on', '1'],
      ]),
    };
    for (const [name, path, activity] of SYSTEM_PACKAGES) this.packages.push({ name, path, system: true, activity, versionCode: 33, versionName: '13' });
    USER_PACKAGES.forEach(([name, activity], i) => {
      const tag = createHash('sha256').update(`${serial}/${name}`).digest('base64url').slice(0, 22);
      this.packages.push({ name, path: `/data/app/~~${tag}==/${name}-${i + 1}/base.apk`, system: false, activity, versionCode: i + 1, versionName: `1.${i}` });
    });
  }

  /** A device boots: transient properties and running apps are gone, persist.* survive. */
  rebooted(): void {
    const persisted = [...this.props].filter(([k]) => k.startsWith('persist.'));
    this.#bootProps();
    for (const [k, v] of persisted) this.props.set(k, v);
    this.running.clear();
    this.bootTime = Date.now();
  }

  package(name: string): PackageInfo | undefined {
    return this.packages.find((p) => p.name === name);
  }

  banner(features: readonly string[]): string {
    const p = this.profile;
    return formatDeviceBanner({ product: p.name, model: p.model, device: p.device, features });
  }

  #bootProps(): void {
    const p = this.profile;
    const fingerprint = `adbfleet/${p.name}/${p.device}:13/TQ3A.230901.001/10750268:user/release-keys`;
    this.props = new Map([
      ['dalvik.vm.heapsize', '512m'],
      ['init.svc.adbd', 'running'],
      ['persist.sys.timezone', 'GMT'],
      ['persist.sys.locale', 'en-US'],
      ['ro.boot.serialno', this.serial],
      ['ro.build.characteristics', p.name.endsWith('tablet') ? 'tablet' : 'default'],
      ['ro.build.display.id', 'TQ3A.230901.001 release-keys'],
      ['ro.build.fingerprint', fingerprint],
      ['ro.build.id', 'TQ3A.230901.001'],
      ['ro.build.tags', 'release-keys'],
      ['ro.build.type', 'user'],
      ['ro.build.version.release', '13'],
      ['ro.build.version.sdk', '33'],
      ['ro.build.version.security_patch', '2023-09-05'],
      ['ro.debuggable', '0'],
      ['ro.hardware', 'kpsim'],
      ['ro.product.board', 'kpsim'],
      ['ro.product.brand', 'adbfleet'],
      ['ro.product.cpu.abi', 'arm64-v8a'],
      ['ro.product.device', p.device],
      ['ro.product.manufacturer', 'adbfleet'],
      ['ro.product.model', p.model],
      ['ro.product.name', p.name],
      ['ro.secure', '1'],
      ['ro.serialno', this.serial],
      ['ro.sf.lcd_density', String(p.density)],
      ['service.adb.tcp.port', '5555'],
      ['sys.boot_completed', '1'],
    ]);
  }
}

let SHARED_ROOT: VNode | null = null;

function androidTree(): VNode {
  const buildProp = (props: ReadonlyMap<string, string>): string =>
    ['# begin build properties', '# autogenerated by the adbfleet simulator']
      .concat([...props].filter(([k]) => k.startsWith('ro.build') || k.startsWith('ro.product')).map(([k, v]) => `${k}=${v}`))
      .concat(['# end build properties', ''])
      .join('\n');
  const procVersion = `Linux version ${KERNEL_RELEASE} (build-user@build-host) (Android (8508608, based on r450784e) clang version 14.0.7, LLD 14.0.7) ${KERNEL_BUILD}\n`;
  const apps = (names: string[]): VNode[] => names.map((n) => dir(n, [file(`${n}.apk`, 'PK\u0003\u0004')]));
  const sdcardDirs = ['Alarms', 'DCIM', 'Documents', 'Download', 'Movies', 'Music', 'Notifications', 'Pictures', 'Podcasts', 'Ringtones'];
  return dir('', [
    dir('acct'),
    dir('apex'),
    dir('cache', [], 0o770, 'system', 'cache'),
    dir('config'),
    dir('data', [dir('local', [dir('tmp', [], 0o771, 'shell', 'shell')], 0o751, 'root', 'root')], 0o771, 'system', 'system'),
    dir('dev'),
    dir('etc', [file('hosts', '127.0.0.1       localhost\n::1             ip6-localhost\n')]),
    dir('mnt'),
    dir('proc', [
      file('version', procVersion, 0o444),
      file('cpuinfo', 'processor\t: 0\nBogoMIPS\t: 38.40\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\nCPU implementer\t: 0x41\n', 0o444),
      file('meminfo', 'MemTotal:        3972344 kB\nMemFree:         1833212 kB\nMemAvailable:    2874232 kB\n', 0o444),
    ], 0o555),
    dir('product', [dir('app'), dir('etc')]),
    dir('sdcard', sdcardDirs.map((d) => dir(d, [], 0o770, 'root', 'everybody')), 0o770, 'root', 'everybody'),
    dir('storage', [dir('emulated', [], 0o711), dir('self', [], 0o755)]),
    dir('system', [
      dir('app', apps(['Camera2', 'LatinIME', 'webview'])),
      dir('bin', [file('sh', '\u007fELF', 0o755, 'root', 'shell'), file('toybox', '\u007fELF', 0o755, 'root', 'shell')], 0o751, 'root', 'shell'),
      file('build.prop', buildProp, 0o644),
      dir('etc', [file('hosts', '127.0.0.1       localhost\n::1             ip6-localhost\n')]),
      dir('fonts'),
      dir('framework', [file('framework-res.apk', 'PK\u0003\u0004')]),
      dir('lib64'),
      dir('priv-app', apps(['Contacts', 'Dialer', 'DocumentsUI', 'Launcher3', 'MediaProvider', 'Settings', 'SettingsProvider', 'Shell', 'SystemUI', 'TeleService'])),
      dir('usr'),
      dir('xbin'),
    ]),
    dir('vendor', [dir('bin'), dir('etc'), dir('lib64')]),
  ]);
}
