"""The plugin's own tests: xmbench's method contract, and PLS against scikit-learn's own transform."""

import numpy as np
from sklearn.cross_decomposition import PLSCanonical

from xmbench import testing
from xmbench_pls import PLS


def test_pls_meets_the_xmbench_method_contract():
    testing.check_method(PLS)


def test_embeddings_are_scikit_learns_scores():
    train, test = testing.planted_pairs(200, 50, 9, 7, 4, 0.5, seed=0)
    method = PLS(n_components=3).fit(train)
    reference = PLSCanonical(n_components=3).fit(train.a, train.b)
    x_scores, y_scores = reference.transform(test.a, test.b)
    # the same components up to sign and scale (scikit-learn standardises with n - 1, we with n)
    for ours, theirs in ((method.embed("a", test.a), x_scores), (method.embed("b", test.b), y_scores)):
        for k in range(3):
            assert abs(np.corrcoef(ours[:, k], theirs[:, k])[0, 1]) > 0.9999
