// The ADB wire format, declared once and imported by both ends: the host side (src/adb) and the
// simulated adbd (src/sim). Packet codec, shell v2 framing, sync framing, the CNXN banner,
// Android's key format.
// Nothing here opens a socket or keeps a connection's state.

export * from './packet.js';
export * from './shell-v2.js';
export * from './banner.js';
export * from './android-key.js';
export * from './sync.js';
