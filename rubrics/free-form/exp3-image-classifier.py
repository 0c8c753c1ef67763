# Free-form criteria of Experiment 3 (image classifier, a CNN on MNIST or CIFAR-10): notebooks
# written without the starter. Each `# %% <criterion>` cell is a test (extract, then judge; see
# dlkit/checks.py) whose marks are in rubrics/exp3-image-classifier.yml (free_form_rubric); the
# classifier is found by type and shape (dlkit/grading/free_form.py), whatever its name.

# %% architecture
import dlkit.checks as checks
from dlkit.grading import free_form

WHAT = "classifier of 28x28 digits or 32x32 colour images with 10 outputs"


def extract(ns):
    found = free_form.find_model(ns, free_form.IMAGES, 10, WHAT)
    return {"model": found.model, "found": found.facts()}


def judge(data):
    convolutions = [layer for layer in free_form.layers(data["model"]) if layer["kind"].startswith("Conv")]
    assert len(convolutions) >= 2, f"`{data['found']['name']}` has {len(convolutions)} convolution layer(s); a CNN of this experiment has at least 2"
    return {"convolution layers": len(convolutions), "data": free_form.data_of_inputs(data["found"]["input_shape"])}


checks.run(extract, judge, globals())

# %% training
import dlkit.checks as checks
import dlkit.experiments as dlkit_experiments
from dlkit.grading import free_form

WHAT = "classifier of 28x28 digits or 32x32 colour images with 10 outputs"


def extract(ns):
    found = free_form.find_model(ns, free_form.IMAGES, 10, WHAT)
    return {"found": found.facts()}


def judge(data):
    found = data["found"]
    assert found["steps"] > 0, f"`{found['name']}` was never trained (its optimizer took no step)"
    least = int(dlkit_experiments.threshold("exp3-image-classifier", "min_epochs"))
    if found["epochs"]:
        assert found["epochs"] >= least, f"`{found['name']}` was trained for {found['epochs']} epoch(s); train for at least {least}"
    return {"optimizer steps": found["steps"], "epochs": found["epochs"]}


checks.run(extract, judge, globals())

# %% test_accuracy
import dlkit.checks as checks
import dlkit.experiments as dlkit_experiments
from dlkit.grading import free_form

WHAT = "classifier of 28x28 digits or 32x32 colour images with 10 outputs"


def extract(ns):
    found = free_form.find_model(ns, free_form.IMAGES, 10, WHAT)
    return {"model": found.model, "found": found.facts()}


def judge(data):
    shape = data["found"]["input_shape"]
    scores = free_form.classifier_scores(data["model"], shape)
    accuracy, held_out = scores["accuracy"], scores["held_out"]
    checks.assert_not_fitted_to_test(accuracy, held_out, dlkit_experiments.threshold("exp3-image-classifier", "held_out_gap"), kept_back=False, data=scores["data"])
    least = dlkit_experiments.threshold("exp3-image-classifier", f"test_accuracy_{free_form.image_set_of(shape)}")
    assert accuracy >= least, f"test accuracy of `{data['found']['name']}` measured by the grader on the {scores['data']} test set (inputs {scores['scaling']}): {accuracy:.4f}; it must reach {least}"
    return {"test accuracy (grader)": accuracy, "held-out accuracy (grader)": held_out, "data": scores["data"], "inputs": scores["scaling"]}


checks.run(extract, judge, globals())
