#!/usr/bin/python3
"""make_big_ckpt.py SRC.safetensors OUT.pt N -- a torch.save zip (written without torch) holding the F32 tensors of SRC
plus an N-value task head score.weight: a checkpoint that convert takes a noticeable time over (test_robust
interrupts it). Plain state dict, protocol-2 pickle, storages stored uncompressed."""
import collections, json, pickle, struct, sys, types, zipfile
src, out, big = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = open(src, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; hdr = json.loads(b[8:8 + n])
for m in ("torch", "torch._utils"): sys.modules[m] = types.ModuleType(m)
def _rebuild_tensor_v2(*a): pass
_rebuild_tensor_v2.__module__ = "torch._utils"; sys.modules["torch._utils"]._rebuild_tensor_v2 = _rebuild_tensor_v2
class FloatStorage: pass
FloatStorage.__module__ = "torch"; sys.modules["torch"].FloatStorage = FloatStorage
class T:
    def __init__(s, key, shape, numel): s.key, s.shape, s.numel = key, shape, numel
    def __reduce__(s):
        st, stride = [], 1
        for d in reversed(s.shape): st.insert(0, stride); stride *= d
        return (_rebuild_tensor_v2, (("storage", s.key, s.numel), 0, tuple(s.shape), tuple(st), False, collections.OrderedDict()))
class P(pickle.Pickler):
    def persistent_id(s, o):
        return ("storage", FloatStorage, o[1], "cpu", o[2]) if isinstance(o, tuple) and o and o[0] == "storage" else None
sd, blobs = collections.OrderedDict(), {}
for i, name in enumerate(k for k in sorted(hdr) if k != "__metadata__"):
    v = hdr[name]; lo, hi = v["data_offsets"]; numel = (hi - lo) // 4
    sd[name] = T(str(i), v["shape"], numel); blobs[str(i)] = b[8 + n + lo:8 + n + hi]
sd["score.weight"] = T("big", [big, 1], big); blobs["big"] = bytes(4 * big)
import io; f = io.BytesIO(); P(f, protocol=2).dump(sd)
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", f.getvalue()); z.writestr("archive/version", "3\n")
    for k, v in blobs.items(): z.writestr("archive/data/" + k, v)
