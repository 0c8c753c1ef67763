# Free-form criteria of Experiment 1 (the same MLP in several frameworks): notebooks written
# without the starter. Each `# %% <criterion>` cell is a test (extract, then judge; see
# dlkit/checks.py) whose marks are in rubrics/exp1-frameworks.yml (free_form_rubric); each
# framework's model is found by type and shape (dlkit/grading/free_form.py), whatever its name.

# %% keras_model
import dlkit.checks as checks
import dlkit.experiments as dlkit_experiments
from dlkit.grading import free_form


def extract(ns):
    found = free_form.find_model(ns, free_form.DIGITS, 10, "Keras classifier of 28x28 digits with 10 outputs", "keras")
    return {"model": found.model, "found": found.facts()}


def judge(data):
    found = data["found"]
    assert found["steps"] > 0, f"`{found['name']}` (Keras) was never trained"
    accuracy = free_form.classifier_scores(data["model"], found["input_shape"])["accuracy"]
    least = dlkit_experiments.threshold("exp1-frameworks", "test_accuracy")
    assert accuracy >= least, f"test accuracy of `{found['name']}` (Keras) measured by the grader: {accuracy:.4f}; it must reach {least}"
    return {"Keras test accuracy (grader)": accuracy}


checks.run(extract, judge, globals())

# %% torch_model
import dlkit.checks as checks
import dlkit.experiments as dlkit_experiments
from dlkit.grading import free_form


def extract(ns):
    found = free_form.find_model(ns, free_form.DIGITS, 10, "PyTorch classifier of 28x28 digits with 10 outputs", "torch")
    return {"model": found.model, "found": found.facts()}


def judge(data):
    found = data["found"]
    assert found["steps"] > 0, f"`{found['name']}` (PyTorch) was never trained"
    accuracy = free_form.classifier_scores(data["model"], found["input_shape"])["accuracy"]
    least = dlkit_experiments.threshold("exp1-frameworks", "test_accuracy")
    assert accuracy >= least, f"test accuracy of `{found['name']}` (PyTorch) measured by the grader: {accuracy:.4f}; it must reach {least}"
    return {"PyTorch test accuracy (grader)": accuracy}


checks.run(extract, judge, globals())

# %% same_network
import dlkit.checks as checks
from dlkit.grading import free_form


def extract(ns):
    found = [free_form.find_model(ns, free_form.DIGITS, 10, f"{kind} classifier of 28x28 digits with 10 outputs", kind) for kind in ("keras", "torch")]
    return {"keras": found[0].model, "torch": found[1].model, "names": [f.name for f in found]}


def judge(data):
    counts = [free_form.parameter_count(data[kind]) for kind in ("keras", "torch")]
    names = data["names"]
    assert counts[0] == counts[1], f"`{names[0]}` (Keras) has {counts[0]:,} parameters and `{names[1]}` (PyTorch) {counts[1]:,}: build the same network in both"
    return {"parameters": counts[0]}


checks.run(extract, judge, globals())
