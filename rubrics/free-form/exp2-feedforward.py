# Free-form criteria of Experiment 2 (feed-forward network on MNIST): notebooks written without
# the starter. Each `# %% <criterion>` cell is a test (extract, then judge; see dlkit/checks.py)
# whose marks are in rubrics/exp2-feedforward.yml (free_form_rubric); the model is found by type
# and shape (dlkit/grading/free_form.py), whatever its name.

# %% architecture
import dlkit.checks as checks
from dlkit.grading import free_form


def extract(ns):
    found = free_form.find_model(ns, free_form.DIGITS, 10, "classifier of 28x28 digits with 10 outputs")
    return {"model": found.model, "found": found.facts()}


def judge(data):
    kinds = [layer["kind"] for layer in free_form.layers(data["model"])]
    name = data["found"]["name"]
    convolutions = [k for k in kinds if k.startswith("Conv")]
    assert not convolutions, f"`{name}` has convolution layers ({', '.join(convolutions)}): Experiment 2 asks for a feed-forward (dense) network"
    dense = [k for k in kinds if k in ("Dense", "Linear")]
    assert len(dense) >= 2, f"`{name}` has {len(dense)} dense layer(s): use at least one hidden layer and an output layer"
    return {"hidden layers": len(dense) - 1, "data": free_form.data_of_inputs(data["found"]["input_shape"])}


checks.run(extract, judge, globals())

# %% optimizer
import dlkit.checks as checks
from dlkit.grading import free_form


def extract(ns):
    found = free_form.find_model(ns, free_form.DIGITS, 10, "classifier of 28x28 digits with 10 outputs")
    return {"found": found.facts()}


def judge(data):
    found = data["found"]
    assert found["optimizer"], f"no optimizer holds the parameters of `{found['name']}`: compile it (Keras) or keep the optimizer in a variable (torch)"
    assert found["optimizer"] == "SGD", f"`{found['name']}` is trained with {found['optimizer']}; the lab asks for stochastic gradient descent (SGD)"


checks.run(extract, judge, globals())

# %% training
import dlkit.checks as checks
import dlkit.experiments as dlkit_experiments
from dlkit.grading import free_form


def extract(ns):
    found = free_form.find_model(ns, free_form.DIGITS, 10, "classifier of 28x28 digits with 10 outputs")
    return {"found": found.facts()}


def judge(data):
    found = data["found"]
    assert found["steps"] > 0, f"`{found['name']}` was never trained (its optimizer took no step)"
    least = int(dlkit_experiments.threshold("exp2-feedforward", "min_epochs"))
    if found["epochs"]:
        assert found["epochs"] >= least, f"`{found['name']}` was trained for {found['epochs']} epoch(s); train for at least {least}"
    return {"optimizer steps": found["steps"], "epochs": found["epochs"]}


checks.run(extract, judge, globals())

# %% test_accuracy
import dlkit.checks as checks
import dlkit.experiments as dlkit_experiments
from dlkit.grading import free_form


def extract(ns):
    found = free_form.find_model(ns, free_form.DIGITS, 10, "classifier of 28x28 digits with 10 outputs")
    return {"model": found.model, "found": found.facts()}


def judge(data):
    scores = free_form.classifier_scores(data["model"], data["found"]["input_shape"])
    accuracy, held_out = scores["accuracy"], scores["held_out"]
    checks.assert_not_fitted_to_test(accuracy, held_out, dlkit_experiments.threshold("exp2-feedforward", "held_out_gap"), kept_back=False, data=scores["data"])
    least = dlkit_experiments.threshold("exp2-feedforward", "test_accuracy")
    assert accuracy >= least, f"test accuracy of `{data['found']['name']}` measured by the grader on the {scores['data']} test set (inputs {scores['scaling']}): {accuracy:.4f}; it must reach {least}"
    return {"test accuracy (grader)": accuracy, "held-out accuracy (grader)": held_out, "data": scores["data"], "inputs": scores["scaling"]}


checks.run(extract, judge, globals())
