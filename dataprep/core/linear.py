"""The one linear-model recipe every part uses: scale the features, then logistic regression.

Dense input is standardised. Sparse input (text TF-IDF, rows L2-normalised) is not
centred (that would densify it) nor scaled per column (that would blow up rare
n-grams): it is multiplied by the square root of the mean number of non-zeros per
row, which puts a typical entry near 1 like a standardised dense feature, so one
`C` suits both. Unscaled, `C=0.5` on raw TF-IDF predicts a single class from the
few dozen labels of early rounds (`tests/test_modalities.py::test_text_rounds`
runs that loop); `benchmarks/al_efficiency.py` compares the full-pool accuracy
with sparse TF-IDF + logistic regression whose C is cross-validated.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import StandardScaler

DEFAULT_C = 0.5


class FeatureScaler(TransformerMixin, BaseEstimator):
    """StandardScaler for dense input; sparse input scaled by one factor (see module docstring)."""

    def fit(self, X, y=None):
        self.sparse_ = sp.issparse(X)
        if self.sparse_:
            self.scaler_, self.factor_ = None, float(np.sqrt(max(1.0, X.getnnz(axis=1).mean())))
        else:
            self.scaler_, self.factor_ = StandardScaler().fit(X), 1.0
        return self

    def transform(self, X):
        if sp.issparse(X):
            return X * self.factor_
        return self.scaler_.transform(X) if self.scaler_ is not None else X


def logistic(random_state: int | None = 0, **params):
    """FeatureScaler + multinomial logistic regression (C=0.5 unless given)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    kw = {"C": DEFAULT_C, "max_iter": 2000, **params}
    return make_pipeline(FeatureScaler(), LogisticRegression(random_state=random_state, **kw))


def knn(n_neighbors: int, sparse: bool):
    """k-NN on the same features: cosine on sparse TF-IDF, Euclidean on standardised dense."""
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    if sparse:
        return KNeighborsClassifier(n_neighbors=n_neighbors, metric="cosine", algorithm="brute")
    return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=n_neighbors))
