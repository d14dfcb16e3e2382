"""The one score that decides, each round, whether the next annotation goes to an unlabeled
sample (active learning) or back to a doubtful one (re-annotation): the probability that the
label we would use for it is wrong, `1 - post[label]` (`p_wrong`).

`post` is the model's class probabilities for an unlabeled sample (its label would be the
model's guess), and for an annotated one the inferred posterior blended half and half with the
kept annotators' vote shares (so a 1-1 tie scores about 0.5 whatever the model believes, and a
label nobody gave cannot look certain); a single annotation scores its posterior alone, which
carries its annotator's checked record and the model's say. The score is of the label we would
use (`p_wrong(post, used)`): where a model not yet trusted may not move a lone answer
(`labeling.validate`), the answer is kept but scored by the posterior with the model's prior,
so a contradicted answer competes for another annotation as the evidence says (on digits
`benchmarks/labeling_cost.py` reached its target with 441 annotations instead of 515). The expected *one-step* reduction of that error is not
used: a single label of a 90%-accurate annotator has posterior 0.9, and one more vote cannot
flip it on its own (a disagreeing vote makes a tie that a third vote breaks), so a one-step gain
of zero would leave every such label unchecked.
"""

from __future__ import annotations

import numpy as np


def p_wrong(post: np.ndarray, used=None) -> np.ndarray:
    """Probability that the label used for each row of `post` is not the true one: its most
    probable class, or the class index `used` gives for that row (-1: the most probable)."""
    post = np.asarray(post, dtype=np.float64)
    if post.ndim != 2 or post.shape[1] == 0:
        return np.zeros(len(post))
    post = post / np.clip(post.sum(1, keepdims=True), 1e-12, None)
    pick = post.argmax(1) if used is None else np.where(np.asarray(used) >= 0, used, post.argmax(1))
    return 1.0 - post[np.arange(len(post)), pick]


def blend(posterior: np.ndarray, votes: np.ndarray) -> np.ndarray:
    """Half the inferred posterior, half the vote shares (rows with fewer than two votes: the
    posterior alone, since a lone vote's share of 1 says nothing about whether it is right)."""
    votes = np.asarray(votes, dtype=np.float64)
    n = votes.sum(1, keepdims=True)
    shares = np.where(n > 1, votes / np.clip(n, 1, None), posterior)
    return 0.5 * np.asarray(posterior, dtype=np.float64) + 0.5 * shares
