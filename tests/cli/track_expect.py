#!/usr/bin/env python3
"""track_expect.py -- the values `hyenadna track` must write, computed independently (Debian python3-numpy
and python3-pybigwig only) from `hyenadna forward --logits` run on the chunks of the rule, and compared with
the bigWig files and the SNV table of a run.

    track_expect.py HYENADNA MODEL REF.fa CONTIG C O RC PREFIX [BEG END]

The rule (man hyenadna-track): chunk k covers [g + k(C-O), g + k(C-O)+C) of the contig, g = 0, or for a
region BEG-END (1-based, inclusive) g = max(0, BEG-1-O) (the last chunk may be shorter, ending at the contig
end); a base takes its values from the earliest chunk holding it, read at the row before it (causal
model); with RC=1 the reverse strand is scored too, from the latest chunk holding the base, reverse-
complemented, and the log-likelihood ratios of the two strands are averaged.  Checked: every base of the
first two chunks (those of the region), the gaps (first base, N; last base with RC; outside the region),
the chromosome list of every bigWig."""
import json
import math
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import pyBigWig

TOK = {"A": 7, "C": 8, "G": 9, "T": 10}
COMP = {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"}


def read_fasta(path):
    seqs, name = {}, None
    for line in open(path):
        line = line.strip()
        if line.startswith(">"):
            name = line[1:].split()[0]
            seqs[name] = []
        elif name:
            seqs[name].append(line.upper())
    return {k: "".join(v) for k, v in seqs.items()}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in head.items():
        if k == "__metadata__" or v["dtype"] != "F32":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"])
    return out


def logits_of(hy, model, seqs):
    """logits [L, rows] of each sequence (name -> bases) from `hyenadna forward --logits`."""
    with tempfile.TemporaryDirectory() as d:
        fa = d + "/chunks.fa"
        with open(fa, "w") as f:
            for k, s in seqs.items():
                f.write(">%s\n%s\n" % (k, s))
        st = d + "/out.safetensors"
        subprocess.run([hy, "forward", "-m", model, "--logits", "--no-hidden", "-@", "1", "-o", st, fa], check=True,
                       stderr=subprocess.DEVNULL)
        t = read_safetensors(st)
    return {k: t["logits." + k].astype(np.float64) for k in seqs}


def log_softmax(row):
    m = row.max()
    return row - m - math.log(np.exp(row - m).sum())


def check_bigwig_file(path, sizes):
    """The bigWig structure as the UCSC tools read it, parsed here without libBigWig (which pyBigWig uses):
    the chromosome B+ tree (every contig, sorted keys), the data R-tree (leaves in order, each block's items
    inside the block's range and the contig), the zoom levels (increasing reductions, records inside the
    contigs) and the total summary (min <= max).  Returns a list of problems."""
    bad = []
    b = open(path, "rb").read()
    magic, version, nzoom, ct_off, data_off, idx_off = struct.unpack_from("<IHHQQQ", b, 0)
    bufsize = struct.unpack_from("<I", b, 52)[0]
    if magic != 0x888FFC26 or struct.unpack_from("<I", b, len(b) - 4)[0] != 0x888FFC26:
        return ["bad magic at the start or the end"]
    if nzoom < 1:
        bad.append("no zoom level")
    # chromosome tree
    m, bs, ks, vs, n = struct.unpack_from("<IIIIQ", b, ct_off)
    names = {}

    def ctree(off):
        leaf, _, cnt = struct.unpack_from("<BBH", b, off)
        off += 4
        for _ in range(cnt):
            key = b[off:off + ks].rstrip(b"\0").decode()
            if leaf:
                cid, size = struct.unpack_from("<II", b, off + ks)
                names[cid] = (key, size)
            else:
                ctree(struct.unpack_from("<Q", b, off + ks)[0])
            off += ks + 8
    ctree(ct_off + 32)
    keys = [names[i][0] for i in sorted(names)]
    if m != 0x78CA8C91 or n != len(names) or {k: v for k, v in names.values()} != sizes:
        bad.append("chromosome tree %s != %s" % (dict(names.values()), sizes))
    if keys != sorted(keys, key=lambda k: k.encode()):
        bad.append("chromosome ids not in the byte order of the names")
    size_of = {i: names[i][1] for i in names}

    def leaves(off, out):
        leaf, _, cnt = struct.unpack_from("<BBH", b, off)
        off += 4
        for _ in range(cnt):
            if leaf:
                out.append(struct.unpack_from("<IIIIQQ", b, off))
                off += 32
            else:
                leaves(struct.unpack_from("<Q", b, off + 16)[0], out)
                off += 24
        return out

    def index(off):
        if struct.unpack_from("<I", b, off)[0] != 0x2468ACE0:
            bad.append("bad R-tree magic at %d" % off)
            return []
        return leaves(off + 48, [])

    def block(off, sz):
        raw = b[off:off + sz]
        return zlib.decompress(raw) if bufsize else raw

    prev = (-1, -1)
    vals = []
    nblocks = struct.unpack_from("<Q", b, data_off)[0]
    items = index(idx_off)
    if len(items) != nblocks:
        bad.append("%d index leaves for %d data blocks" % (len(items), nblocks))
    for c0, s0, c1, e1, off, sz in items:
        d = block(off, sz)
        cid, bs_, be_, step, span, typ, _, cnt = struct.unpack_from("<IIIIIBBH", d, 0)
        if not (c0 == c1 == cid and s0 == bs_ and e1 == be_ and (c0, s0) >= prev and e1 <= size_of.get(c0, -1)):
            bad.append("data block %s: header %s, contig size %s" % ((c0, s0, c1, e1), (cid, bs_, be_), size_of.get(c0)))
        prev = (c0, e1)
        for i in range(cnt):
            if typ == 2:
                st, v = struct.unpack_from("<If", d, 24 + 8 * i)
                en = st + span
            elif typ == 1:
                st, en, v = struct.unpack_from("<IIf", d, 24 + 12 * i)
            else:
                st = bs_ + i * step
                en = st + span
                v = struct.unpack_from("<f", d, 24 + 4 * i)[0]
            vals.append(v)
            if not (s0 <= st < en <= e1):
                bad.append("item [%d, %d) outside its block [%d, %d)" % (st, en, s0, e1))
                break
    # zoom levels
    last = 0
    for z in range(nzoom):
        red, _, zdata, zidx = struct.unpack_from("<IIQQ", b, 64 + 24 * z)
        if red <= last:
            bad.append("zoom reductions not increasing")
        last = red
        for c0, s0, c1, e1, off, sz in index(zidx):
            d = block(off, sz)
            for k in range(len(d) // 32):
                cid, st, en, valid, mn, mx, sm, sq = struct.unpack_from("<IIIIffff", d, 32 * k)
                if not (st < en <= size_of.get(cid, -1) and mn <= mx and valid > 0):
                    bad.append("zoom %d record %s" % (red, (cid, st, en, valid, mn, mx)))
                    break
    smin, smax = struct.unpack_from("<dd", b, struct.unpack_from("<Q", b, 44)[0] + 8)
    if vals and (smin != min(vals) or smax != max(vals)):
        bad.append("summary min/max %g/%g, the values' %g/%g" % (smin, smax, min(vals), max(vals)))
    if len(vals) < 100:
        bad.append("only %d values in the data blocks" % len(vals))
    return bad


def main():
    hy, model, ref, contig, C, O, rc, prefix = sys.argv[1:9]
    C, O, rc = int(C), int(O), int(rc)
    seqs = read_fasta(ref)
    s = seqs[contig]
    L = len(s)
    beg, fin = (int(sys.argv[9]) - 1, int(sys.argv[10])) if len(sys.argv) > 10 else (0, L)
    g = max(0, beg - O)
    C = min(C, L - g)
    stride = C - O
    K = 1 if L - g <= C else (L - g - C + stride - 1) // stride + 1
    start = [g + k * stride for k in range(K)]
    end = [min(x + C, L) for x in start]
    # the bases of the first two chunks, and the chunks they need (the reverse strand's latest ones too)
    upto = end[1] if K > 1 else end[0]
    first = lambda p: min(k for k in range(K) if start[k] <= p < end[k])
    last = lambda p: max(k for k in range(K) if start[k] <= p < end[k])
    span = range(max(beg, g), min(upto, fin))
    need = sorted({first(p) for p in span} | ({last(p) for p in span} if rc else set()))
    fwd = logits_of(hy, model, {"c%d" % k: s[start[k]:end[k]] for k in need})
    rev = {}
    if rc:
        rcs = {"c%d" % k: "".join(COMP[b] for b in reversed(s[start[k]:end[k]])) for k in need}
        rev = logits_of(hy, model, rcs)

    bw = {t: pyBigWig.open("%s.%s.bw" % (prefix, t)) for t in ["logp", "entropy", "ic", "A", "C", "G", "T"]}
    snv = {}
    for line in subprocess.run(["bgzip", "-dc", prefix + ".snv.tsv.gz"], check=True, capture_output=True,
                               text=True).stdout.splitlines():
        if line.startswith("#"):
            continue
        c, p, r, a, v = line.split("\t")
        if c == contig:
            snv[(int(p) - 1, a)] = float(v)

    bad = 0
    checked = 0

    def close(got, want, what):
        nonlocal bad
        if not (abs(got - want) <= 1e-5 + 1e-5 * abs(want)):
            bad += 1
            if bad <= 10:
                print("FAIL: %s: got %.9g, expected %.9g" % (what, got, want))

    # every bigWig: the FASTA's contigs and lengths, every one of them; its structure as the UCSC tools read it
    for t in bw:
        for problem in check_bigwig_file("%s.%s.bw" % (prefix, t), {k: len(v) for k, v in seqs.items()})[:5]:
            bad += 1
            print("FAIL: %s.%s.bw: %s" % (prefix, t, problem))
    for t, f in bw.items():
        if f.chroms() != {k: len(v) for k, v in seqs.items()}:
            bad += 1
            print("FAIL: %s.bw chromosome list %s" % (t, f.chroms()))
        if f.header()["nLevels"] < 1:
            bad += 1
            print("FAIL: %s.bw has no zoom level" % t)
    vals = {t: np.array(f.values(contig, 0, upto)) for t, f in bw.items()}
    for p in range(upto):
        ref_b = s[p]
        gap = ref_b not in TOK or p == 0 or (rc and p == L - 1) or not beg <= p < fin
        if gap:
            for t in vals:
                if not math.isnan(vals[t][p]):
                    bad += 1
                    print("FAIL: %s at %s:%d is %g, expected a gap" % (t, contig, p + 1, vals[t][p]))
            if any((p, a) in snv for a in "ACGT"):
                bad += 1
                print("FAIL: SNV rows at the gap %s:%d" % (contig, p + 1))
            continue
        # natural-log LLR of each base against the reference base, per strand, then averaged
        k = first(p)
        lp = log_softmax(fwd["c%d" % k][p - start[k] - 1])
        llr = {b: lp[TOK[b]] - lp[TOK[ref_b]] for b in "ACGT"}
        if rc:
            k = last(p)
            n = end[k] - start[k]
            lq = log_softmax(rev["c%d" % k][(n - 1 - (p - start[k])) - 1])
            for b in "ACGT":
                llr[b] = (llr[b] + lq[TOK[COMP[b]]] - lq[TOK[COMP[ref_b]]]) / 2
        # the distribution over A, C, G, T those ratios define
        z = sum(math.exp(llr[b]) for b in "ACGT")
        q = {b: math.exp(llr[b]) / z for b in "ACGT"}
        h = -sum(q[b] * math.log2(q[b]) for b in "ACGT")
        want = {"logp": math.log2(q[ref_b]), "entropy": h, "ic": 2 - h}
        for b in "ACGT":
            want[b] = q[b] * (2 - h)
        for t in vals:
            close(vals[t][p], want[t], "%s at %s:%d" % (t, contig, p + 1))
        for b in "ACGT":
            if b == ref_b:
                continue
            if (p, b) not in snv:
                bad += 1
                print("FAIL: no SNV row %s:%d %s>%s" % (contig, p + 1, ref_b, b))
            else:
                close(snv[(p, b)], llr[b], "llr %s:%d %s>%s" % (contig, p + 1, ref_b, b))
        checked += 1
    print("%d bases of %s checked (chunks %s of %d), %d failures" % (checked, contig, need, K, bad))
    sys.exit(1 if bad or checked < len(span) // 2 else 0)


if __name__ == "__main__":
    main()
