"""N contexts × M candidates in one call, each clip embedded once, and the one-candidate fast path."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .._validate import check_bool, is_tensor, require_torch

__all__ = ["score_matrix", "score_one"]


def score_matrix(scorer: Any, contexts: Any, candidates: Any, *, sr: Optional[int] = None,
                 gate: bool = False) -> Any:
    """``(N, M)`` COCOLA scores of every context against every candidate (see
    :meth:`CoherenceScorer.score_matrix`)."""
    torch = require_torch("CoherenceScorer.score_matrix")
    from .gate import embed_with_stats, judge, score_floor

    gate = check_bool(gate, "gate")
    pc = scorer.read_clips(contexts, sr=sr, name="contexts")
    pm = scorer.read_clips(candidates, sr=sr, name="candidates")
    n = len(pc.clips)
    if gate:
        emb, levels, flat, var = embed_with_stats(scorer, pc.clips + pm.clips)
    else:
        emb = scorer.embed_clips(pc.clips + pm.clips)
    with torch.inference_mode():
        s = scorer.model.head(emb[:n].to(scorer.device, torch.float32), emb[n:].to(scorer.device, torch.float32))
    if gate:
        floor = score_floor(scorer)
        ok = np.array([[judge(levels[n + j], flat[n + j], var[n + j], levels[i], scorer_gate(scorer))[0] == "ok"
                        for j in range(len(pm.clips))] for i in range(n)])
        s = torch.where(torch.from_numpy(ok).to(s.device), s, torch.full_like(s, floor))
    like = pc.like if pc.like is not None else pm.like
    return scorer._output(s, like)


def scorer_gate(scorer: Any) -> Any:
    from .gate import DEFAULT_GATE

    return getattr(scorer, "gate_config", None) or DEFAULT_GATE


def score_one(context: Any, candidate: Any, *, sr: Optional[int] = None) -> Any:
    """Score of one candidate clip against a cached context with the least overhead: a float
    (a 0-d tensor for tensor input). See :meth:`CoherenceContext.score_one`."""
    torch = require_torch("CoherenceContext.score_one")
    scorer = context.scorer
    if isinstance(candidate, (list, tuple)):
        raise TypeError("candidate must be one clip (an array, a tensor or a path), not a list; "
                        "use CoherenceContext.score for several")
    like = candidate if is_tensor(candidate) else None
    clip = scorer.read_clip(candidate, sr=sr, name="candidate")
    windows = scorer.windows(clip)
    k = int(windows.shape[0])
    policy = scorer.thread_policy
    with policy.scope(k), torch.inference_mode():
        if scorer.features_on_device or is_tensor(windows):
            feats = scorer.features(windows)
        else:
            feats = torch.from_numpy(scorer.frontend(windows, num_threads=policy.count(k))).to(scorer.device)
        emb = scorer.embed_features(feats)
        if k > 1:
            emb = emb.mean(dim=0, keepdim=True)
        value = (context.projected().to(emb.device) @ emb.t())[0, 0]  # = head(context, emb), h_yᵀ W cached
    if like is not None:
        return value.to(like.device)
    return float(value)
