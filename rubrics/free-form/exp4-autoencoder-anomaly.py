# Free-form criteria of Experiment 4 (autoencoder anomaly detection): notebooks written without
# the starter, on MNIST or, as the lab manual has it, on the college's ECG5000 or credit-card
# files (graded on the copies `dlkit data import` stored). Each `# %% <criterion>` cell is a test
# (extract, then judge; see dlkit/checks.py) whose marks are in rubrics/exp4-autoencoder-anomaly.yml
# (free_form_rubric); the autoencoder is the model whose output has its input's size.

# %% architecture
import dlkit.checks as checks
from dlkit.grading import free_form

WHAT = "autoencoder (output the size of its input: 784 pixels, 140 ECG values or 29-30 transaction columns)"


def extract(ns):
    found = free_form.find_model(ns, free_form.AUTOENCODER_INPUTS, "same", WHAT)
    return {"model": found.model, "found": found.facts()}


def judge(data):
    found = data["found"]
    features = 1
    for size in found["input_shape"]:
        features *= size
    units = [layer["units"] for layer in free_form.layers(data["model"]) if layer["units"]]
    assert units, f"`{found['name']}` has no dense layers"
    assert min(units) < features, f"`{found['name']}` never narrows its {features} inputs (narrowest layer {min(units)}): an autoencoder needs a bottleneck"
    return {"bottleneck": min(units), "data": free_form.data_of_inputs(found["input_shape"])}


checks.run(extract, judge, globals())

# %% training
import dlkit.checks as checks
import dlkit.experiments as dlkit_experiments
from dlkit.grading import free_form

WHAT = "autoencoder (output the size of its input: 784 pixels, 140 ECG values or 29-30 transaction columns)"


def extract(ns):
    found = free_form.find_model(ns, free_form.AUTOENCODER_INPUTS, "same", WHAT)
    return {"found": found.facts()}


def judge(data):
    found = data["found"]
    assert found["steps"] > 0, f"`{found['name']}` was never trained (its optimizer took no step)"
    least = int(dlkit_experiments.threshold("exp4-autoencoder-anomaly", "min_epochs"))
    if found["epochs"]:
        assert found["epochs"] >= least, f"`{found['name']}` was trained for {found['epochs']} epoch(s); train for at least {least}"
    return {"optimizer steps": found["steps"], "epochs": found["epochs"]}


checks.run(extract, judge, globals())

# %% roc_auc
import dlkit.checks as checks
import dlkit.experiments as dlkit_experiments
from dlkit.grading import free_form

WHAT = "autoencoder (output the size of its input: 784 pixels, 140 ECG values or 29-30 transaction columns)"


def extract(ns):
    found = free_form.find_model(ns, free_form.AUTOENCODER_INPUTS, "same", WHAT)
    features = 1
    for size in found.input_shape:
        features *= size
    return {"model": found.model, "found": found.facts(), **(free_form.find_scaler(ns, features) or {})}


def judge(data):
    found = data["found"]
    scores = free_form.anomaly_scores(data["model"], found["input_shape"], scaler=data)
    if not scores:
        raise checks.LeftToInstructor(f"the grader has no data for an autoencoder of input {found['input_shape']} (instructor: import the college's ECG or credit-card file with `dlkit data import`)")
    auc = scores["roc_auc"]
    if "held_out_roc_auc" in scores:
        checks.assert_not_fitted_to_test(auc, scores["held_out_roc_auc"], dlkit_experiments.threshold("exp4-autoencoder-anomaly", "held_out_gap"), "ROC-AUC", kept_back=False, data="MNIST")
    least = dlkit_experiments.threshold("exp4-autoencoder-anomaly", "roc_auc")
    assert auc >= least, f"ROC-AUC of the reconstruction errors of `{found['name']}` measured by the grader on {scores['data']} (inputs {scores['scaling']}): {auc:.4f}; it must reach {least}"
    return {"ROC-AUC (grader)": auc, "data": scores["dataset"], "inputs": scores["scaling"]}


checks.run(extract, judge, globals())

# %% threshold
import dlkit.checks as checks
from dlkit.grading import free_form

WHAT = "autoencoder (output the size of its input: 784 pixels, 140 ECG values or 29-30 transaction columns)"


def extract(ns):
    found = free_form.find_model(ns, free_form.AUTOENCODER_INPUTS, "same", WHAT)
    number = free_form.find_number(ns)
    if number is None:
        raise checks.MissingObject("no threshold in the notebook: keep the reconstruction-error threshold in a variable whose name says so (`threshold`)")
    features = 1
    for size in found.input_shape:
        features *= size
    return {"model": found.model, "found": found.facts(), "name": number[0], "threshold": number[1],
            **(free_form.find_scaler(ns, features) or {})}


def judge(data):
    scores = free_form.anomaly_scores(data["model"], data["found"]["input_shape"], data["threshold"], scaler=data)
    assert scores, "the grader has no data to try the threshold on"
    balanced = scores["balanced_accuracy"]
    assert balanced >= 0.8, f"`{data['name']}` = {data['threshold']:.6g}: flagging errors above it, the grader finds a balanced accuracy of {balanced:.3f} on {scores['data']} (measured with inputs {scores['scaling']}); at least 0.8 expected"
    return {"balanced accuracy at the threshold (grader)": balanced, "data": scores["dataset"], "inputs": scores["scaling"]}


checks.run(extract, judge, globals())
