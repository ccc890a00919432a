#!/usr/bin/env python3
"""hostile_images.py — image files for robustness tests, written with the standard library only
(no PIL, no numpy: any python3 runs it).

  hostile_images.py hostile OUT_DIR GOOD.png   the hostile folder of tests/test_hostile.sh,
                                               unusual-but-valid files made from GOOD.png
  hostile_images.py seeds OUT_DIR GOOD.png     small seeds for the image fuzz target

Writers: PNG (any colour type and depth, Adam7), baseline JPEG (grey, YCbCr or Adobe CMYK), GIF
(animated), BMP, TGA (RLE), PNM, PSD, HDR. GOOD.png must be an 8-bit non-interlaced PNG (what
`ocr-crnn synth` writes). Prints one line per file: NAME<TAB>expected outcome.
"""
import math
import os
import struct
import sys
import zlib


# ---- PNG ------------------------------------------------------------------------------------

def png_chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))


def png_bytes(w, h, rows, ctype=0, depth=8, interlace=False, extra=b'', idat=None):
    """rows[y][x] is a sample tuple (or int for one channel) of `depth` bits."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]

    def scanline(y, xs):
        if depth < 8:
            bits = ''.join(format(rows[y][x], '0%db' % depth) for x in xs)
            bits += '0' * (-len(bits) % 8)
            return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
        out = bytearray()
        for x in xs:
            px = rows[y][x]
            px = px if isinstance(px, tuple) else (px,)
            assert len(px) == channels
            for v in px:
                out += struct.pack('>H', v) if depth == 16 else bytes([v])
        return bytes(out)

    raw = bytearray()
    if not interlace:
        for y in range(h):
            raw += b'\0' + scanline(y, range(w))
    else:
        for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
                               (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):
            xs = range(x0, w, dx)
            if len(xs) == 0:
                continue
            for y in range(y0, h, dy):
                raw += b'\0' + scanline(y, xs)
    if idat is None:
        idat = zlib.compress(bytes(raw), 9)
    return (b'\x89PNG\r\n\x1a\n' +
            png_chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, int(interlace))) +
            extra + png_chunk(b'IDAT', idat) + png_chunk(b'IEND', b''))


def read_png_grey(path):
    """An 8-bit non-interlaced PNG (grey, grey+alpha, RGB, RGBA) as rows of grey values."""
    data = open(path, 'rb').read()
    pos, idat = 8, b''
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b'IHDR':
            w, h, depth, ctype, _, _, inter = struct.unpack('>IIBBBBB', body)
            assert depth == 8 and inter == 0 and ctype in (0, 2, 4, 6), (depth, ctype, inter)
        elif kind == b'IDAT':
            idat += body
        pos += 12 + n
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * ch
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - ch] if i >= ch else 0
            b = prev[i]
            c = prev[i - ch] if i >= ch else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        prev = line
        if ch >= 3:
            rows.append([(line[x * ch] * 299 + line[x * ch + 1] * 587 + line[x * ch + 2] * 114)
                         // 1000 for x in range(w)])
        else:
            rows.append([line[x * ch] for x in range(w)])
    return w, h, rows


# ---- baseline JPEG ----------------------------------------------------------------------------

ZIGZAG = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34,
          27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37,
          44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63]
QUANT = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57,
         69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55,
         64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103,
         99]  # JPEG Annex K luminance table, row-major
DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
DC_VALS = list(range(12))
AC_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d]
AC_VALS = bytes.fromhex(
    '01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25'
    '262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a'
    '838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9ca'
    'd2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa')


def huff_codes(bits, vals):
    codes, code, k = {}, 0, 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            codes[vals[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


class BitWriter:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, code, length):
        self.acc = (self.acc << length) | code
        self.n += length
        while self.n >= 8:
            byte = (self.acc >> (self.n - 8)) & 255
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)
            self.n -= 8

    def flush(self):
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)


def jpeg_bytes(w, h, planes, adobe_cmyk=False):
    """planes: 1, 3 or 4 lists of rows of 0..255 samples, no subsampling, one MCU per block."""
    cos = [[math.cos((2 * x + 1) * u * math.pi / 16) for x in range(8)] for u in range(8)]
    dc_codes, ac_codes = huff_codes(DC_BITS, DC_VALS), huff_codes(AC_BITS, AC_VALS)

    def seg(marker, body):
        return bytes([0xFF, marker]) + struct.pack('>H', len(body) + 2) + body

    def category(v):
        return 0 if v == 0 else abs(v).bit_length()

    def bits_of(v, n):
        return v if v >= 0 else v + (1 << n) - 1

    nc = len(planes)
    head = b'\xff\xd8'
    if adobe_cmyk:  # Adobe APP14, transform 0: the components are C, M, Y, K as written
        head += seg(0xEE, b'Adobe' + struct.pack('>HHHB', 100, 0, 0, 0))
    head += seg(0xDB, b'\x00' + bytes(QUANT[i] for i in ZIGZAG))
    head += seg(0xC0, struct.pack('>BHHB', 8, h, w, nc) +
                b''.join(bytes([i + 1, 0x11, 0]) for i in range(nc)))
    head += seg(0xC4, b'\x00' + bytes(DC_BITS) + bytes(DC_VALS))
    head += seg(0xC4, b'\x10' + bytes(AC_BITS) + AC_VALS)
    head += seg(0xDA, bytes([nc]) + b''.join(bytes([i + 1, 0x00]) for i in range(nc)) +
                b'\x00\x3f\x00')
    bw = BitWriter()
    pred = [0] * nc
    for by in range(0, h, 8):
        for bx in range(0, w, 8):
            for c in range(nc):
                blk = [[planes[c][min(by + y, h - 1)][min(bx + x, w - 1)] - 128 for x in range(8)]
                       for y in range(8)]
                coef = []
                for v in range(8):
                    for u in range(8):
                        s = sum(cos[v][y] * sum(cos[u][x] * blk[y][x] for x in range(8))
                                for y in range(8))
                        cu = math.sqrt(0.5) if u == 0 else 1.0
                        cv = math.sqrt(0.5) if v == 0 else 1.0
                        coef.append(0.25 * cu * cv * s)
                q = [int(round(coef[ZIGZAG[k]] / QUANT[ZIGZAG[k]])) for k in range(64)]
                diff = q[0] - pred[c]
                pred[c] = q[0]
                n = category(diff)
                bw.put(*dc_codes[n])
                if n:
                    bw.put(bits_of(diff, n), n)
                run = 0
                for k in range(1, 64):
                    if q[k] == 0:
                        run += 1
                        continue
                    while run > 15:
                        bw.put(*ac_codes[0xF0])
                        run -= 16
                    n = category(q[k])
                    bw.put(*ac_codes[(run << 4) | n])
                    bw.put(bits_of(q[k], n), n)
                    run = 0
                if run:
                    bw.put(*ac_codes[0x00])
    bw.flush()
    return head + bytes(bw.out) + b'\xff\xd9'


# ---- GIF ----------------------------------------------------------------------------------------

def gif_lzw(pixels):
    """LZW with 8-bit literals only and a clear code before the table outgrows 9-bit codes:
    valid, simple, barely compressed."""
    clear, eoi = 256, 257
    acc, n, out = 0, 0, bytearray()

    def put(code):
        nonlocal acc, n
        acc |= code << n
        n += 9
        while n >= 8:
            out.append(acc & 255)
            acc >>= 8
            n -= 8

    for i, p in enumerate(pixels):
        if i % 250 == 0:
            put(clear)
        put(p)
    put(eoi)
    if n:
        out.append(acc & 255)
    blocks = b''.join(bytes([len(out[i:i + 255])]) + bytes(out[i:i + 255])
                      for i in range(0, len(out), 255))
    return b'\x08' + blocks + b'\x00'


def gif_bytes(w, h, frames, loop=True):
    g = b'GIF89a' + struct.pack('<HHBBB', w, h, 0xF7, 0, 0)
    g += b''.join(bytes([i, i, i]) for i in range(256))
    if len(frames) > 1 and loop:
        g += b'\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00'
    for f in frames:
        g += b'\x21\xf9\x04\x00\x0a\x00\x00\x00'  # 0.1 s a frame
        g += b'\x2c' + struct.pack('<HHHHB', 0, 0, w, h, 0)
        g += gif_lzw([v for row in f for v in row])
    return g + b'\x3b'


# ---- the rest -------------------------------------------------------------------------------

def bmp_bytes(w, h, rows):
    row = ((w * 24 + 31) // 32) * 4
    data = b''.join(b''.join(bytes([v, v, v]) for v in rows[y]) + b'\0' * (row - 3 * w)
                    for y in reversed(range(h)))
    return (b'BM' + struct.pack('<IHHI', 54 + len(data), 0, 0, 54) +
            struct.pack('<IiiHHIIiiII', 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0) + data)


def tga_rle_bytes(w, h, rows):
    out = bytearray(struct.pack('<BBBHHBHHHHBB', 0, 0, 11, 0, 0, 0, 0, 0, w, h, 8, 0x20))
    flat = [v for row in rows for v in row]
    i = 0
    while i < len(flat):
        j = i
        while j < len(flat) and j - i < 128 and flat[j] == flat[i]:
            j += 1
        out += bytes([0x80 | (j - i - 1), flat[i]])
        i = j
    return bytes(out)


def pgm_bytes(w, h, rows):
    return b'P5\n# seed\n%d %d\n255\n' % (w, h) + bytes(v for row in rows for v in row)


def psd_bytes(w, h, rows):
    head = b'8BPS' + struct.pack('>H', 1) + b'\0' * 6 + struct.pack('>HIIHH', 3, h, w, 8, 3)
    head += struct.pack('>III', 0, 0, 0) + struct.pack('>H', 0)
    plane = bytes(v for row in rows for v in row)
    return head + plane * 3


def hdr_bytes(w, h, rows):
    out = b'#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y %d +X %d\n' % (h, w)
    return out + b''.join(bytes([v, v, v, 128]) for row in rows for v in row)


def scale(rows, w, h):
    sh, sw = len(rows), len(rows[0])
    return [[rows[y * sh // h][x * sw // w] for x in range(w)] for y in range(h)]


# ---- sets ---------------------------------------------------------------------------------------

def hostile(out, good):
    w, h, g = read_png_grey(good)
    files = []

    def put(name, data, what):
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
        files.append((name, what))

    full_png = png_bytes(w, h, g)
    put('truncated.png', full_png[:len(full_png) // 2], 'bad: truncated PNG')
    jpg = jpeg_bytes(w, h, [g])
    put('truncated.jpg', jpg[:len(jpg) // 2], 'bad: truncated JPEG')
    put('empty.png', b'', 'bad: zero bytes')
    put('empty.jpg', b'', 'bad: zero bytes')
    put('text.png', b'This is a text file, not a PNG.\n', 'bad: text named .png')
    tall = png_bytes(1, 100000, [[(y * 7) & 255] for y in range(100000)])
    put('tall-1x100000.png', tall, 'bad: 1 x 100000 over the side limit')
    put('wide-100000x1.png', png_bytes(100000, 1, [[(x * 7) & 255 for x in range(100000)]]),
        'bad: 100000 x 1 over the side limit')
    put('header-50000x50000.png',
        b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', struct.pack('>IIBBBBB', 50000, 50000, 8, 0, 0, 0, 0)),
        'bad: PNG header claims 50000 x 50000')
    bomb = zlib.compressobj(9)
    idat = b''.join(bomb.compress(b'\0' * (1 << 20)) for _ in range(64)) + bomb.flush()
    put('bomb-1x1.png', png_bytes(1, 1, [[0]], idat=idat),
        'bad: 1 x 1 PNG whose data inflates to 64 MB')
    scans = (b'\xff\xd8' + b'\xff\xdb\x00\x43\x00' + bytes([1] * 64) +
             b'\xff\xc2\x00\x0b\x08\x1f\x40\x1f\x40\x01\x01\x11\x00' +
             b'\xff\xc4\x00\x14\x00' + bytes([1] + [0] * 15) + b'\x00' +
             b'\xff\xda\x00\x08\x01\x01\x00\x00\x00\x00' +
             b'\xff\xda\x00\x08\x01\x01\x00\x00\x00\x10' * 2000 + b'\xff\xd9')
    put('scans-2000.jpg', scans, 'bad: progressive JPEG, 8000 x 8000, 2000 empty scans')
    put('tiny-8000x8000.bmp',
        b'BM' + struct.pack('<IHHI', 54, 0, 0, 54) +
        struct.pack('<IiiHHIIiiII', 40, 8000, 8000, 1, 24, 0, 0, 0, 0, 0, 0),
        'bad: 54-byte BMP claiming 8000 x 8000')
    put('gray16.png', png_bytes(w, h, [[v * 257 for v in r] for r in g], depth=16),
        'good: 16-bit grey PNG')
    put('rgba16-interlaced.png',
        png_bytes(w, h, [[(v * 257, v * 257, v * 257, 65535) for v in r] for r in g], ctype=6,
                  depth=16, interlace=True),
        'good: 16-bit RGBA Adam7 PNG')
    inv = [[255 - v for v in r] for r in g]
    # Adobe stores CMYK inverted (255 = no ink): the picture in C, M and Y, no black ink.
    put('cmyk.jpg', jpeg_bytes(w, h, [g, g, g, [[255] * w for _ in range(h)]], adobe_cmyk=True),
        'good: CMYK JPEG (Adobe)')
    put('grey.jpg', jpg, 'good: baseline grey JPEG')
    put('animated.gif', gif_bytes(w, h, [g, inv, g]), 'good: animated GIF (first frame read)')
    os.mkdir(os.path.join(out, 'x.png'))
    files.append(('x.png/', 'bad: a folder named x.png'))
    return files


def seeds(out, good):
    w, h, g = read_png_grey(good)
    sw, sh = 24, 8
    s = scale(g, sw, sh)
    rgb = [[(v, v // 2, 255 - v) for v in r] for r in s]
    files = {
        'grey.png': png_bytes(sw, sh, s),
        'grey-alpha.png': png_bytes(sw, sh, [[(v, 255 - v) for v in r] for r in s], ctype=4),
        'rgb.png': png_bytes(sw, sh, rgb, ctype=2),
        'rgba16.png': png_bytes(sw, sh, [[(v * 257, v, 0, 65535) for v in r] for r in s],
                                ctype=6, depth=16),
        'interlaced.png': png_bytes(sw, sh, s, interlace=True),
        '1bit.png': png_bytes(sw, sh, [[v >> 7 for v in r] for r in s], depth=1),
        'palette.png': png_bytes(sw, sh, [[v >> 6 for v in r] for r in s], ctype=3, depth=2,
                                 extra=png_chunk(b'PLTE', bytes(range(0, 240, 20))) +
                                 png_chunk(b'tRNS', b'\x00\x80')),
        'grey.jpg': jpeg_bytes(sw, sh, [s]),
        'rgb.jpg': jpeg_bytes(sw, sh, [s, s, s]),
        'cmyk.jpg': jpeg_bytes(16, 8, [scale(s, 16, 8)] * 3 + [[[255] * 16] * 8], adobe_cmyk=True),
        'anim.gif': gif_bytes(sw, sh, [s, [[255 - v for v in r] for r in s]]),
        'grey.bmp': bmp_bytes(sw, sh, s),
        'rle.tga': tga_rle_bytes(sw, sh, s),
        'grey.pgm': pgm_bytes(sw, sh, s),
        'rgb.psd': psd_bytes(sw, sh, s),
        'flat.hdr': hdr_bytes(sw, sh, s),
    }
    for name, data in files.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    return [(n, 'seed') for n in files]


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ('hostile', 'seeds'):
        sys.stderr.write(__doc__)
        return 2
    os.makedirs(sys.argv[2], exist_ok=True)
    made = (hostile if sys.argv[1] == 'hostile' else seeds)(sys.argv[2], sys.argv[3])
    for name, what in made:
        print('%s\t%s' % (name, what))
    return 0


if __name__ == '__main__':
    sys.exit(main())
