#!/usr/bin/env python3
"""plot_check.py -- checks of the pictures of `hyenadna plot` for tests/cli/test_plot*.sh (standard library
only: xml.etree, zlib).  Each subcommand prints what it checked and exits 1 on the first failure.

  heatmap SVG TABLE CHR:BEG-END [STRIPS]   the cells of the heatmap against an SNV table
  tracks SVG NAME=VALUES...                the titled points of each track against "POS VALUE" lines
  size SVG                                 print the SVG's width and height
  png PNG W H                              a PNG of W x H pixels that is not all one colour
"""
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zlib
import gzip

NS = '{http://www.w3.org/2000/svg}'


def fail(msg):
    print('FAIL: ' + msg)
    sys.exit(1)


def parse_svg(path):
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as e:
        fail('%s is not well-formed XML: %s' % (path, e))


def title_of(el):
    t = el.find(NS + 'title')
    return t.text if t is not None else None


def parse_region(s):
    m = re.fullmatch(r'(.+):(\d+)-(\d+)', s)
    return m.group(1), int(m.group(2)), int(m.group(3))


def read_table(path, chrom, beg, end):
    """SNV rows (pos, ref, alt) -> llr text, from a score-variants or track table."""
    op = gzip.open if path.endswith('.gz') else open
    rows, cols = {}, None
    with op(path, 'rt') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('#'):
                cols = line[1:].split('\t')
                continue
            f_ = dict(zip(cols, line.split('\t')))
            p = int(f_['pos'])
            if f_['chrom'] != chrom or not beg <= p <= end:
                continue
            rows[(p, f_['ref'], f_['alt'])] = f_['llr']
    return rows


def luminance(hexcol):
    r, g, b = (int(hexcol[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b, (r, g, b)


def heatmap(svg, table, region, strips=None):
    chrom, beg, end = parse_region(region)
    root = parse_svg(svg)
    rows = read_table(table, chrom, beg, end)
    if not rows:
        fail('no rows of %s in %s' % (region, table))
    snv, ref, other = {}, {}, 0
    cell_re = re.compile(r'(\d+) ([ACGT])>([ACGT]) (\S+)$')
    for el in root.iter(NS + 'rect'):
        cls = el.get('class')
        if cls == 'snv':
            m = cell_re.match(title_of(el) or '')
            if not m:
                fail('cell title %r is not "POS REF>ALT LLR"' % title_of(el))
            key = (int(m.group(1)), m.group(2), m.group(3))
            if key in snv:
                fail('two cells for %s' % (key,))
            snv[key] = (m.group(4), el.get('fill'), float(el.get('x')), float(el.get('y')))
        elif cls == 'ref':
            m = re.match(r'(\d+) ([ACGT]) \(reference base\)$', title_of(el) or '')
            if not m:
                fail('reference cell title %r' % title_of(el))
            p = int(m.group(1))
            if p in ref:
                fail('two reference cells at %d' % p)
            ref[p] = m.group(2)
        elif cls in ('na', 'gap'):
            other += 1
    # exactly 3 valued cells per position (plus its marked reference cell), values as in the table
    per_pos = {}
    for (p, r, a) in snv:
        per_pos.setdefault(p, []).append(a)
        if ref.get(p) != r:
            fail('position %d: cells of REF %s but the reference cell says %s' % (p, r, ref.get(p)))
    for p, alts in per_pos.items():
        if len(alts) != 3:
            fail('position %d has %d valued cells, not 3' % (p, len(alts)))
    if set(snv) != set(rows):
        fail('cells and table rows differ: %d cells, %d rows, e.g. %s' %
             (len(snv), len(rows), sorted(set(snv) ^ set(rows))[:3]))
    for k, v in rows.items():
        if snv[k][0] != v:
            fail('%s: the cell reads %s, the table %s' % (k, snv[k][0], v))
    if set(ref) != set(per_pos):
        fail('positions with a reference cell differ from those with valued cells')
    # colours: monotone in the value on each side of 0 (lightness falls as |LLR| grows), red below, blue above
    for side in (-1, 1):
        cells = sorted((abs(float(v)), luminance(f)) for (v, f, _, _) in snv.values() if float(v) * side > 0)
        for (a0, (l0, _)), (a1, (l1, _)) in zip(cells, cells[1:]):
            if a1 > a0 and l1 > l0 + 0.5:
                fail('colours not monotone on the %s side: |LLR| %g lightness %.1f, |LLR| %g lightness %.1f' %
                     ('negative' if side < 0 else 'positive', a0, l0, a1, l1))
        for a, (l, (r, g, b)) in cells:
            if a > 0.05 * (cells[-1][0] if cells else 1) and (r - b) * side > 0:
                fail('LLR %g on the %s side has colour %s' % (side * a, 'wrong', (r, g, b)))
    # rows: A, C, G, T from the top
    ys = {}
    for (p, r, a), (_, _, x, y) in snv.items():
        ys.setdefault(a, set()).add(y)
    order = sorted(ys, key=lambda a: min(ys[a]))
    if order != sorted(order):
        fail('rows are not A, C, G, T from the top: %s' % order)
    nstrip = sum(1 for g in root.iter(NS + 'g') if g.get('class') == 'strip')
    if strips is not None and nstrip != int(strips):
        fail('%d strips, expected %s' % (nstrip, strips))
    print('heatmap ok: %d positions, %d valued cells, %d reference cells, %d other, %d strips' %
          (len(per_pos), len(snv), len(ref), other, nstrip))


def tracks(svg, specs):
    root = parse_svg(svg)
    groups = {g.get('data-track'): g for g in root.iter(NS + 'g') if g.get('class') == 'points'}
    for spec in specs:
        name, path = spec.split('=', 1)
        want = {}
        with open(path) as f:
            for line in f:
                p, v = line.split()
                want[int(p)] = float(v)
        if name not in groups:
            fail('no points of track %s' % name)
        got = {}
        for el in groups[name]:
            t = title_of(el)
            m = re.fullmatch(r'(\d+) (\S+)', t or '')
            if not m:
                fail('track %s: point title %r is not "POS VALUE"' % (name, t))
            got[int(m.group(1))] = float(m.group(2))
        if set(got) != set(want):
            fail('track %s: points at %d positions, %d expected (%s)' %
                 (name, len(got), len(want), sorted(set(got) ^ set(want))[:5]))
        for p, v in want.items():
            if abs(got[p] - v) > 1e-5 * max(1.0, abs(v)):
                fail('track %s at %d: %r, expected %r' % (name, p, got[p], v))
        print('track %s ok: %d points' % (name, len(got)))


def size(svg):
    root = parse_svg(svg)
    print(root.get('width'), root.get('height'))


def png(path, w, h):
    data = open(path, 'rb').read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        fail('%s is not a PNG file' % path)
    pos, idat, ihdr = 8, b'', None
    while pos < len(data):
        n, typ = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b'IHDR':
            ihdr = struct.unpack('>IIBBBBB', body)
        elif typ == b'IDAT':
            idat += body
        pos += 12 + n
    W, H, depth, ctype, _, _, interlace = ihdr
    if (W, H) != (int(w), int(h)):
        fail('%s is %dx%d, expected %sx%s' % (path, W, H, w, h))
    if depth != 8 or ctype not in (2, 6) or interlace:
        fail('%s: unexpected PNG layout (depth %d, colour type %d, interlace %d)' % (path, depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), W * bpp
    prev, colours = bytearray(stride), set()
    for y in range(H):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for i in range(0, stride, bpp * 7):
            colours.add(bytes(line[i:i + 3]))
        prev = line
    if len(colours) < 3:
        fail('%s: its pixels are (nearly) all one colour: %s' % (path, colours))
    print('png ok: %dx%d, %d colours sampled' % (W, H, len(colours)))


if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    {'heatmap': heatmap, 'tracks': lambda s, *a: tracks(s, a), 'size': size, 'png': png}[cmd](*args)
