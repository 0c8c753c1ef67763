"""Only the student's own objects are judged: an import or a value of another kind under a
starter name is "missing", saying what was found instead."""

from __future__ import annotations

import pytest

from dlkit import checks
from dlkit.checks import MissingObject


def test_scikit_learn_s_cosine_similarity_is_not_the_student_s():
    from sklearn.metrics.pairwise import cosine_similarity

    with pytest.raises(MissingObject, match=r"`cosine_similarity` is sklearn\.metrics\.pairwise's "
                                            r"function, imported, not one of your own"):
        checks.get({"cosine_similarity": cosine_similarity}, "cosine_similarity")


def test_an_imported_class_or_builtin_is_not_the_student_s_either():
    from collections import OrderedDict

    with pytest.raises(MissingObject, match="collections's class"):
        checks.get({"vocab": OrderedDict}, "vocab")
    with pytest.raises(MissingObject, match="builtins's function"):
        checks.get({"tokenize": len}, "tokenize")


def test_the_notebook_s_own_function_and_values_are_judged():
    namespace: dict = {"__name__": "__main__"}
    exec("def cosine_similarity(a, b):\n    return 1.0\nvocab = {'a': 0}", namespace)  # noqa: S102
    assert checks.get(namespace, "cosine_similarity")(1, 2) == 1.0
    assert checks.get(namespace, "vocab") == {"a": 0}


def test_a_value_of_the_wrong_kind_says_what_was_found_instead():
    import numpy as np

    with pytest.raises(MissingObject, match=r"`encoder` should be a dict, not ndarray: the grader "
                                            r"found a ndarray under that name, so it has no "
                                            r"`encoder` of yours to judge"):
        checks.get({"encoder": np.zeros(3)}, "encoder", dict)
