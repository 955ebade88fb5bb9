"""Do two soundfonts share samples? Counts sample names in common and byte-identical sample data (sf2 RIFF chunks).

Usage: python scripts/bundled_two_tower/sf2_overlap.py A.sf2 B.sf2
(TimGM6mb.sf2 vs sf_GMbank.sf2: 520 488 same names 391 identical sample data 318)
"""
import hashlib, struct, sys
def read(path):
    b = open(path, 'rb').read()
    def chunks(data, off, end):
        while off < end:
            cid, size = data[off:off+4], struct.unpack('<I', data[off+4:off+8])[0]
            yield cid, off + 8, size
            off += 8 + size + (size & 1)
    smpl = shdr = None
    for cid, o, s in chunks(b, 12, len(b)):
        if cid == b'LIST':
            for c2, o2, s2 in chunks(b, o + 4, o + s):
                if c2 == b'smpl': smpl = (o2, s2)
                if c2 == b'shdr': shdr = (o2, s2)
    out = {}
    so = smpl[0]
    for k in range(shdr[1] // 46 - 1):
        r = b[shdr[0] + 46*k: shdr[0] + 46*(k+1)]
        name = r[:20].split(b'\0')[0].decode('latin1')
        start, end = struct.unpack('<II', r[20:28])
        data = b[so + 2*start: so + 2*end]
        out[name] = (hashlib.sha1(data).hexdigest(), end - start)
    return out
a, b = read(sys.argv[1]), read(sys.argv[2])
ha = {v[0] for v in a.values() if v[1] > 100}; hb = {v[0] for v in b.values() if v[1] > 100}
print(len(a), len(b), 'same names', len(set(a) & set(b)), 'identical sample data', len(ha & hb))
