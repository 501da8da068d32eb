// `screencap -p`: a real PNG (RFC 2083: signature, IHDR, IDAT, IEND) of the instance's screen
// size, a background colour of its own with its serial and the time drawn on it, so two instances,
// or one at two moments, give different images. RGB, 8 bits, every row filter 0; identical rows
// share one Buffer until deflate.
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';

/** 5x7 glyphs, one string per row, for what a serial and a clock need. */
const FONT: Record<string, readonly string[]> = {
  '0': ['01110', '10001', '10011', '10101', '11001', '10001', '01110'],
  '1': ['00100', '01100', '00100', '00100', '00100', '00100', '01110'],
  '2': ['01110', '10001', '00001', '00010', '00100', '01000', '11111'],
  '3': ['11110', '00001', '00001', '01110', '00001', '00001', '11110'],
  '4': ['00010', '00110', '01010', '10010', '11111', '00010', '00010'],
  '5': ['11111', '10000', '11110', '00001', '00001', '10001', '01110'],
  '6': ['00110', '01000', '10000', '11110', '10001', '10001', '01110'],
  '7': ['11111', '00001', '00010', '00100', '01000', '01000', '01000'],
  '8': ['01110', '10001', '10001', '01110', '10001', '10001', '01110'],
  '9': ['01110', '10001', '10001', '01111', '00001', '00010', '01100'],
  '-': ['00000', '00000', '00000', '11111', '00000', '00000', '00000'],
  ':': ['00000', '01100', '01100', '00000', '01100', '01100', '00000'],
  s: ['00000', '00000', '01111', '10000', '01110', '00001', '11110'],
  i: ['00100', '00000', '01100', '00100', '00100', '00100', '01110'],
  m: ['00000', '00000', '11010', '10101', '10101', '10001', '10001'],
};

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(...parts: Buffer[]): number {
  let c = 0xffffffff;
  for (const p of parts) for (let i = 0; i < p.length; i++) c = CRC_TABLE[(c ^ p[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(head.subarray(4), data), 0);
  return Buffer.concat([head, data, crc]);
}

/** The screen of one instance at `when`: width x height, its serial and the UTC time of day drawn. */
export function renderScreen(serial: string, width: number, height: number, when: Date): Buffer {
  const hue = createHash('sha256').update(serial).digest();
  const bg = [hue[0]! >> 1, hue[1]! >> 1, hue[2]! >> 1];
  const fg = [255, 255, 255];
  const rowBytes = 1 + width * 3;
  const plain = Buffer.alloc(rowBytes);
  for (let x = 0; x < width; x++) plain.set(bg, 1 + x * 3);
  const clock = when.toISOString().slice(11, 19);
  const lines = [serial, clock];
  const longest = Math.max(...lines.map((l) => l.length));
  const scale = Math.max(1, Math.floor(width / (longest * 6 + 2)));
  const rows: Buffer[] = new Array<Buffer>(height).fill(plain);
  lines.forEach((text, li) => {
    const top = Math.floor(height / 3) + li * 9 * scale;
    for (let gy = 0; gy < 7; gy++) {
      const row = Buffer.from(plain);
      [...text].forEach((ch, ci) => {
        const glyph = FONT[ch]?.[gy] ?? '00000';
        for (let gx = 0; gx < 5; gx++) {
          if (glyph[gx] !== '1') continue;
          const x0 = scale + (ci * 6 + gx) * scale;
          for (let x = x0; x < Math.min(width, x0 + scale); x++) row.set(fg, 1 + x * 3);
        }
      });
      for (let y = top + gy * scale; y < Math.min(height, top + (gy + 1) * scale); y++) rows[y] = row;
    }
  });
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, filter method 0, no interlace
  const idat = deflateSync(Buffer.concat(rows, rowBytes * height), { level: 1 });
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}
