// A real APK for the tests, built by Debian's aapt (`apt-get install aapt`) in a temporary
// directory. aapt resolves android: attributes against a framework resource table and Debian has
// no Android SDK (android.jar): a stand-in framework APK is built first, with aapt -x (package id
// 0x01), declaring versionCode and versionName under Android's own public ids (0x0101021b,
// 0x0101021c), so the app's binary manifest is byte for byte what the SDK would give these attributes.
// The commands, in a shell:
//   aapt package -f -x -M fw/AndroidManifest.xml -S fw/res -F fw.apk
//   aapt package -f -M AndroidManifest.xml -I fw.apk -F app.apk
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const AAPT = '/usr/bin/aapt';
/** For node:test's `skip`: false when Debian's aapt is there, else the one-line reason. */
export const aaptSkip: false | string = existsSync(AAPT) ? false : 'Debian aapt is not installed (/usr/bin/aapt)';

const run = promisify(execFile);

const FRAMEWORK_ATTRS = `<?xml version="1.0" encoding="utf-8"?>
<resources>
  <attr name="versionCode" format="integer"/>
  <attr name="versionName" format="string"/>
  <public type="attr" name="versionCode" id="0x0101021b"/>
  <public type="attr" name="versionName" id="0x0101021c"/>
</resources>
`;

export interface ApkSpec {
  packageName: string;
  versionCode: number;
  versionName: string;
}

/** Builds app.apk for spec under a new temporary directory (removed by the caller) and returns its path. */
export async function buildApk(spec: ApkSpec, dir?: string): Promise<string> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'adbfleet-apk-')));
  const fw = join(root, 'fw');
  await mkdir(join(fw, 'res', 'values'), { recursive: true });
  await writeFile(join(fw, 'AndroidManifest.xml'), '<?xml version="1.0" encoding="utf-8"?>\n<manifest package="android"/>\n');
  await writeFile(join(fw, 'res', 'values', 'attrs.xml'), FRAMEWORK_ATTRS);
  await run(AAPT, ['package', '-f', '-x', '-M', join(fw, 'AndroidManifest.xml'), '-S', join(fw, 'res'), '-F', join(root, 'fw.apk')]);
  const app = join(root, `${spec.packageName}-${spec.versionCode}`);
  await mkdir(app, { recursive: true });
  await writeFile(
    join(app, 'AndroidManifest.xml'),
    `<?xml version="1.0" encoding="utf-8"?>\n<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="${spec.packageName}" ` +
      `android:versionCode="${spec.versionCode}" android:versionName="${spec.versionName}"/>\n`,
  );
  const out = join(app, 'app.apk');
  await run(AAPT, ['package', '-f', '-M', join(app, 'AndroidManifest.xml'), '-I', join(root, 'fw.apk'), '-F', out]);
  return out;
}
