"""Streaming COCOLA scores: push audio chunk by chunk, get the score of what was pushed.

A generator produces its accompaniment chunk by chunk; re-embedding whole 5 s windows
at every chunk would recompute the STFT, the HPSS medians and the mel bank of audio
that did not change. :class:`CoherenceStream` keeps them, frame by frame:

- the STFT frames a chunk changes (those whose 1024-sample support reaches the new
  samples, plus the first frames of a window whose start moved, which see its zero
  padding) are recomputed, the others are reused (shifted when the window slides);
- the HPSS masks are recomputed where a changed frame is inside the harmonic median's
  reach (15 frames each side, along time), from a slab that carries another 15 frames
  of context; the percussive median runs along frequency, within a frame;
- the mel bank runs on the frames whose mask changed; only the dB scaling (``ref=max``,
  a per-window maximum) covers the whole window, and the encoder, of course.

The result equals :meth:`CoherenceScorer.score` of the same audio (float32 rounding:
1e-4 relative is tested). Audio at another rate than the model's is resampled exactly
as :func:`timbrefast.data.resample` does it for the whole clip
(``scipy.signal.resample_poly``), recomputing only the last few output samples, whose
filter support reached past the end of what was pushed.

Windows (``window=``):

``"last"`` (default)
    The most recent 5 s: ``audio[s:s + 5 s]`` with ``s = max(0, ceil((n - 5 s) / hop) * hop)``
    for ``n`` samples pushed (at the model rate), zero-padded at the end when shorter. The
    window's start moves on a grid of ``hop`` samples so that frames are reused; with
    chunks of a multiple of ``hop`` it is exactly the last 5 s. Before 5 s are pushed it
    is all the audio so far.
``"all"``
    All the audio so far, with :meth:`CoherenceScorer.score`'s length rules (consecutive
    5 s windows, a remainder of at least 2.5 s as one more padded window, the mean of the
    window embeddings): a window that is complete keeps its embedding.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

import numpy as np

from .._backends import cpu
from .._validate import as_float32_array, check_bool, check_int, is_tensor, require_torch
from ._inputs import MAX_CHANNELS, window_count
from .gate import (DEFAULT_GATE, GateConfig, feature_stats, judge, level_from_mean_square, score_floor,
                   valid_frames_of)

__all__ = ["CoherenceStream"]

WINDOWS = ("last", "all")


class _Resampler:
    """Exact streaming ``scipy.signal.resample_poly(x, up, down)`` of a growing signal."""

    def __init__(self, orig_sr: int, target_sr: int) -> None:
        g = math.gcd(orig_sr, target_sr)
        self.up, self.down = target_sr // g, orig_sr // g
        self.identity = self.up == self.down
        # input samples an output's filter reaches on each side (scipy: half_len = 10 * max(up, down))
        self.margin = (10 * max(self.up, self.down)) // self.up + 3
        self.x = np.zeros(0, np.float32)
        self.x_start = 0  # input index of x[0], a multiple of down
        self.n_in = 0
        self.final = 0  # outputs [0, final) no longer change

    def push(self, chunk: np.ndarray) -> tuple:
        """Append input; returns ``(start, samples)``: outputs from ``start`` to the end."""
        if self.identity:
            start = self.n_in
            self.n_in += chunk.shape[0]
            self.final = self.n_in
            return start, chunk
        from scipy.signal import resample_poly

        self.x = np.concatenate([self.x, chunk])
        self.n_in += chunk.shape[0]
        up, down, n = self.up, self.down, self.n_in
        n_out = -(-n * up // down)
        m0 = self.final
        q = max(0, (m0 * down // up - self.margin) // down)
        i0 = max(q * down, self.x_start)
        q = i0 // down
        y = resample_poly(self.x[i0 - self.x_start:], up, down).astype(np.float32, copy=False)
        out = y[m0 - q * up: n_out - q * up]
        self.final = min(n_out, max(m0, (n - self.margin) * up // down - 1))
        keep = max(0, (self.final * down // up - self.margin) // down) * down
        if keep > self.x_start:
            self.x = self.x[keep - self.x_start:]
            self.x_start = keep
        return m0, out


class _Audio:
    """Samples at the model rate, kept from ``start`` on; ``n`` = samples known so far."""

    def __init__(self) -> None:
        self.buf = np.zeros(1 << 16, np.float32)
        self.start = 0
        self.n = 0

    def write(self, at: int, data: np.ndarray) -> None:
        end = at + data.shape[0]
        need = end - self.start
        if need > self.buf.shape[0]:
            grown = np.zeros(max(need, 2 * self.buf.shape[0]), np.float32)
            grown[: self.n - self.start] = self.buf[: self.n - self.start]
            self.buf = grown
        self.buf[at - self.start: end - self.start] = data
        self.n = end

    def get(self, lo: int, hi: int, first: int, limit: int) -> np.ndarray:
        """Samples ``[lo, hi)``, zeros outside ``[first, min(n, limit))``."""
        out = np.zeros(hi - lo, np.float32)
        a, b = max(lo, first, self.start), min(hi, self.n, limit)
        if b > a:
            out[a - lo: b - lo] = self.buf[a - self.start: b - self.start]
        return out

    def trim(self, keep_from: int) -> None:
        """Forget samples before ``keep_from`` (when that frees a large prefix)."""
        drop = keep_from - self.start
        if drop > self.buf.shape[0] // 2:
            kept = self.n - keep_from
            self.buf[:kept] = self.buf[drop: drop + kept].copy()
            self.start = keep_from


class _WindowFeatures:
    """Features of one window (``W`` samples from ``start``), updated frame by frame."""

    def __init__(self, stream: "CoherenceStream") -> None:
        s = stream
        self.s = s
        self.start: Optional[int] = None
        self.mag = np.zeros((s.bins, s.frames), np.float32)
        self.mel = np.zeros((s.channels, s.n_mels, s.frames), np.float32)
        self.db: Optional[np.ndarray] = None
        self.version = 0
        #: frames of the last update that were recomputed (STFT, masks) — for tests and benchmarks
        self.recomputed = (0, 0)

    def update(self, audio: _Audio, start: int, changed_from: int) -> None:
        s = self.s
        F, hop, half = s.frames, s.hop_length, s.n_fft // 2
        full = (self.start is None or start < self.start or (start - self.start) % hop != 0
                or (start - self.start) // hop >= F)
        ranges: List[tuple] = []
        if full:
            ranges.append((0, F))
        else:
            d = (start - self.start) // hop
            if d:
                self.mag[:, : F - d] = self.mag[:, d:]
                self.mel[:, :, : F - d] = self.mel[:, :, d:]
                ranges.append((0, min(F, -(-half // hop))))
                ranges.append((F - d, F))
            c = changed_from - start
            if c < s.clip_samples:
                t_a = max(0, (c - half) // hop + 1)
                ranges.append((min(t_a, F - d), F))
        self.start = start
        ranges = _merge(ranges)
        if not ranges:
            return
        limit = start + s.clip_samples
        n_stft = 0
        for a, b in ranges:  # STFT of the changed frames, from the zero-padded window
            seg = audio.get(start + a * hop - half, start + (b - 1) * hop + half, start, limit)
            spec = cpu.stft(seg[None], n_fft=s.n_fft, hop=hop, window=s.window, center=False,
                            pad_mode="constant", threads=s.core_threads)
            self.mag[:, a:b] = np.abs(spec[0])
            n_stft += b - a
        reach = s.reach
        mask_ranges = _merge([(max(0, a - reach), min(F, b + reach)) for a, b in ranges])
        n_mask = 0
        for a, b in mask_ranges:
            lo, hi = max(0, a - reach), min(F, b + reach)
            mag = np.ascontiguousarray(self.mag[:, lo:hi])
            if s.hpss:
                mh, mp = cpu.hpss_masks(mag[None], kernel_size=s.kernel_size, power=s.mask_power,
                                        margin=s.margin, threads=s.core_threads)
                parts = [mh[0, :, a - lo: b - lo], mp[0, :, a - lo: b - lo]]
                m = mag[:, a - lo: b - lo]
                spectra = [(p * m) ** s.power if s.power != 2.0 else np.square(p * m) for p in parts]
            else:
                m = mag[:, a - lo: b - lo]
                spectra = [np.square(m) if s.power == 2.0 else m ** s.power]
            for ch, spec_p in enumerate(spectra):
                mel = cpu.mel_project(np.ascontiguousarray(spec_p, dtype=np.float32)[None], s.mel_weights,
                                      threads=s.core_threads)
                self.mel[ch, :, a:b] = mel[0]
            n_mask += b - a
        self.recomputed = (n_stft, n_mask)
        self.db = cpu.scale_db(self.mel.reshape(s.channels, -1), ref_max=s.ref_max, ref=s.ref, amin=s.amin,
                               top_db=s.top_db, threads=s.core_threads).reshape(self.mel.shape)
        self.version += 1


def _merge(ranges: List[tuple]) -> List[tuple]:
    out: List[list] = []
    for a, b in sorted(r for r in ranges if r[1] > r[0]):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [tuple(r) for r in out]


class CoherenceStream:
    """Incremental COCOLA score of a growing candidate against a context (see the module notes).

    Made by :meth:`CoherenceScorer.stream`; not thread-safe (one stream per generator).

    Attributes
    ----------
    samples : int
        Samples pushed so far, at the stream's rate ``sr``.
    level_db, flag, confidence
        The gate's judgement (:mod:`timbrefast.scorers.gate`) of the scored audio, as of
        the last score (``flag`` and ``confidence`` are computed when first read).
    """

    def __init__(self, context: Any, *, sr: int, hop: int = 160, window: str = "last", gate: bool = False,
                 gate_config: Optional[GateConfig] = None) -> None:
        from .. import Frontend

        scorer = context.scorer
        fe = scorer.frontend
        if not isinstance(fe, Frontend):
            raise ValueError("stream needs the scorer's frontend to be a timbrefast.Frontend "
                             f"(got {type(fe).__name__})")
        c = fe.config
        if not c.center or c.pad_mode != "constant" or c.scale != "db":
            raise ValueError("stream supports centred, zero-padded STFT frontends with dB scaling "
                             f"(got center={c.center}, pad_mode={c.pad_mode!r}, scale={c.scale!r})")
        self.context = context
        self.scorer = scorer
        self.sr = check_int(sr, "sr", minimum=1, maximum=1_000_000)
        self.clip_samples = scorer.clip_samples
        self.n_fft = int(c.n_fft)
        self.hop_length = int(fe.kernel.hop)
        self.window = fe.kernel.window
        self.bins = self.n_fft // 2 + 1
        self.frames = self.clip_samples // self.hop_length + 1
        self.n_mels = int(c.n_mels)
        self.hpss = bool(c.hpss)
        self.channels = 2 if self.hpss else 1
        self.kernel_size = tuple(int(k) for k in c.kernel_size)
        self.mask_power = float(c.mask_power)
        self.margin = tuple(float(m) for m in c.margin)
        self.power = float(c.power)
        self.reach = self.kernel_size[0] // 2 + (1 - self.kernel_size[0] % 2)
        self.mel_weights = fe.kernel.mel_weights
        self.ref_max = c.ref == "max"
        self.ref = 1.0 if self.ref_max else float(c.ref)
        self.amin = float(c.amin)
        self.top_db = None if c.top_db is None else float(c.top_db)
        hop = check_int(hop, "hop", minimum=self.hop_length, maximum=self.clip_samples)
        if hop % self.hop_length:
            raise ValueError(f"hop must be a multiple of the STFT hop ({self.hop_length} samples at "
                             f"{scorer.sample_rate} Hz), got {hop}")
        self.hop = hop
        if window not in WINDOWS:
            raise ValueError(f"window must be one of {WINDOWS}, got {window!r}")
        self.mode = window
        self.gate = check_bool(gate, "gate")
        self.gate_config = DEFAULT_GATE if gate_config is None else gate_config
        if not isinstance(self.gate_config, GateConfig):
            raise TypeError(f"gate_config must be a GateConfig, got {type(self.gate_config).__name__}")
        policy = getattr(scorer, "thread_policy", None)
        self._policy = policy
        self.core_threads = policy.count(1) if policy is not None else 0
        self.reset()

    def reset(self) -> None:
        """Forget the audio pushed so far (the context stays)."""
        self._res = _Resampler(self.sr, self.scorer.sample_rate)
        self._audio = _Audio()
        self.samples = 0
        self._like: Any = None
        self._last: Optional[_WindowFeatures] = _WindowFeatures(self) if self.mode == "last" else None
        self._active: Dict[int, _WindowFeatures] = {}
        self._final: List[tuple] = []  # ("all") per finished window: (embedding, sum of squares, flatness, variation)
        self._emb_cache: Dict[int, tuple] = {}  # window index -> (version, embedding)
        self._score: Any = None
        self.level_db: Optional[float] = None
        self._verdict: Optional[tuple] = None  # (flag, confidence) of the last score
        self._verdict_of: Optional[tuple] = None  # what it is computed from, when first asked for

    @property
    def flag(self) -> Optional[str]:
        """The gate's flag of the last scored audio (``"ok"``, ``"quiet"``, ``"silent"``,
        ``"noise"``), None before the first score; computed when first read (or by
        ``gate=True``), so a loop that reads only scores does not pay for it."""
        return self._judged()[0]

    @property
    def confidence(self) -> Optional[float]:
        """The gate's confidence in ``[0, 1]`` of the last scored audio (see :attr:`flag`)."""
        return self._judged()[1]

    def _judged(self) -> tuple:
        if self._verdict is None and self._verdict_of is not None:
            parts, level_db, context_db = self._verdict_of
            fls, vas, ws = [], [], []
            for p in parts:
                if len(p) == 3:
                    f1, v1, w = p
                else:
                    fl, va = feature_stats(p[0][None], [p[1]])
                    f1, v1, w = float(fl[0]), float(va[0]), p[1]
                fls.append(f1)
                vas.append(v1)
                ws.append(w)
            flat = float(np.average(fls, weights=ws))
            var = float(np.average(vas, weights=ws))
            self._verdict = judge(level_db, flat, var, context_db, self.gate_config)
        return self._verdict if self._verdict is not None else (None, None)

    def __repr__(self) -> str:
        return (f"CoherenceStream(sr={self.sr}, window={self.mode!r}, hop={self.hop}, gate={self.gate}, "
                f"samples={self.samples})")

    @property
    def seconds(self) -> float:
        """Audio pushed so far, in seconds."""
        return self.samples / self.sr

    # -- input --------------------------------------------------------------------------

    def _chunk(self, chunk: Any, sr: Optional[int]) -> np.ndarray:
        if sr is not None and check_int(sr, "sr", minimum=1) != self.sr:
            raise ValueError(f"chunk: sr={sr} Hz, but this stream takes {self.sr} Hz "
                             "(resample the chunk, or open a stream at that rate)")
        like = None
        if is_tensor(chunk):
            if chunk.requires_grad:
                raise ValueError("chunk: a stream computes no gradient; pass chunk.detach()")
            like = chunk
            chunk = chunk.detach().cpu().numpy()
        x = as_float32_array(chunk, "chunk", min_ndim=1, max_ndim=2)
        if x.ndim == 2:
            a, b = x.shape
            if a <= MAX_CHANNELS < b:
                x = x.mean(axis=0, dtype=np.float32)
            elif b <= MAX_CHANNELS < a:
                x = x.mean(axis=1, dtype=np.float32)
            else:
                raise ValueError(f"chunk must be (n,), (channels, n) or (n, channels) with at most "
                                 f"{MAX_CHANNELS} channels and n > {MAX_CHANNELS}, got shape {x.shape}")
        if like is not None:
            self._like = like
        return np.ascontiguousarray(x, dtype=np.float32)

    def push(self, chunk: Any, *, sr: Optional[int] = None, score: bool = True) -> Any:
        """Append a chunk; returns the score of the stream's window (see :meth:`score`).

        Parameters
        ----------
        chunk : np.ndarray or torch.Tensor
            ``(n,)`` float audio at the stream's rate (``(channels, n)`` / ``(n, channels)``
            is averaged), ``n >= 1``, finite. A refused chunk (ValueError / TypeError)
            leaves the stream as it was.
        sr : int, optional
            The chunk's rate, checked against the stream's.
        score : bool
            False: only update the features (returns None); call :meth:`score` later.
        """
        x = self._chunk(chunk, sr)
        score = check_bool(score, "score")
        start16, out16 = self._res.push(x)
        self.samples += x.shape[0]
        self._audio.write(start16, out16)
        self._update(start16)
        self._score = None
        return self.score() if score else None

    def _update(self, changed_from: int) -> None:
        n, W = self._audio.n, self.clip_samples
        if self.mode == "last":
            start = max(0, -(-(n - W) // self.hop) * self.hop)
            self._last.update(self._audio, start, changed_from)
            self._audio.trim(start - self.n_fft)
            return
        final = self._res.final
        k = len(self._final)
        while k * W < n:
            if changed_from < (k + 1) * W:
                wf = self._active.get(k)
                if wf is None:
                    wf = self._active[k] = _WindowFeatures(self)
                wf.update(self._audio, k * W, max(changed_from, k * W))
            if final >= (k + 1) * W and k == len(self._final):
                wf = self._active.pop(k)
                emb = self._embed(k, wf)
                x = self._audio.get(k * W, (k + 1) * W, k * W, (k + 1) * W).astype(np.float64)
                fl, va = feature_stats(wf.db[None], [self.frames])
                self._final.append((emb, float(np.dot(x, x)), float(fl[0]), float(va[0])))
                self._emb_cache.pop(k, None)
            k += 1
        self._audio.trim(len(self._final) * W - self.n_fft)

    # -- scores -------------------------------------------------------------------------

    def _embed(self, key: int, wf: _WindowFeatures) -> Any:
        cached = self._emb_cache.get(key)
        if cached is not None and cached[0] == wf.version:
            return cached[1]
        torch = require_torch("CoherenceStream")
        sc = self.scorer
        feats = torch.from_numpy(wf.db[None].copy()).to(sc.device)
        from .gate import _nullcontext

        scope = self._policy.scope(1) if self._policy is not None else _nullcontext()
        with scope, torch.inference_mode():
            emb = sc.embed_features(feats)[0]
        self._emb_cache[key] = (wf.version, emb)
        return emb

    def _similarity(self, emb: Any) -> Any:
        """The bilinear score of one ``(d,)`` embedding against the context (its cached ``h_yᵀ W``
        when the context is a :class:`~timbrefast.scorers.coherence.CoherenceContext`)."""
        projected = getattr(self.context, "projected", None)
        if projected is None:
            return self.scorer.similarity(self.context.embedding, emb[None])[0]
        torch = require_torch("CoherenceStream")
        with torch.inference_mode():
            return (projected().to(emb.device) @ emb.to(torch.float32)[:, None])[0, 0]

    def score(self) -> Any:
        """Score of the stream's window(s) against the context: a float (a 0-d tensor when
        chunks were tensors); with ``gate=True`` flagged audio scores :func:`score_floor`."""
        if self._score is not None:
            return self._score
        if self._audio.n == 0:
            raise ValueError("nothing pushed yet: push a chunk first")
        torch = require_torch("CoherenceStream")
        n, W = self._audio.n, self.clip_samples
        if self.mode == "last":
            wf = self._last
            embs = [self._embed(0, wf)]
            x = self._audio.get(wf.start, min(n, wf.start + W), wf.start, n).astype(np.float64)
            ms = float(np.dot(x, x)) / max(1, x.shape[0])
            # (flatness, variation, frames) of each window, or (dB features, valid frames) for
            # the gate's statistics to compute when they are needed (gate=True, flag, confidence)
            parts: List[tuple] = [(wf.db, valid_frames_of(n - wf.start, self.hop_length, self.frames))]
        else:
            count = window_count(n, W)
            embs, ss, parts = [], 0.0, []
            for k in range(count):
                if k < len(self._final):
                    e, s2, f1, v1 = self._final[k]
                    embs.append(e)
                    ss += s2
                    parts.append((f1, v1, self.frames))
                else:
                    wf = self._active[k]
                    embs.append(self._embed(k, wf))
                    x = self._audio.get(k * W, min(n, (k + 1) * W), k * W, n).astype(np.float64)
                    ss += float(np.dot(x, x))
                    parts.append((wf.db, valid_frames_of(n - k * W, self.hop_length, self.frames)))
            ms = ss / max(1, min(n, count * W))
        emb = embs[0] if len(embs) == 1 else torch.stack(embs).mean(dim=0)
        value = float(self._similarity(emb))
        self.level_db = level_from_mean_square(ms)
        # the dB arrays are replaced, never changed in place, by later pushes: the verdict can wait
        self._verdict = None
        self._verdict_of = (parts, self.level_db, getattr(self.context, "level_db", None))
        if self.gate and self.flag != "ok":
            value = score_floor(self.scorer)
        if self._like is not None:
            self._score = torch.tensor(value, dtype=torch.float32, device=self._like.device)
        else:
            self._score = value
        return self._score
