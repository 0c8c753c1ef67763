# Free-form criteria of Experiment 6 (transfer learning) as colleges run it: image classification
# on a pretrained backbone (VGG16, ResNet, EfficientNet, MobileNet) with its lower layers frozen
# and a new head. Each `# %% <criterion>` cell is a test (extract, then judge; see
# dlkit/checks.py) whose marks are in rubrics/exp6-transfer-learning.yml (free_form_rubric); the
# classifier is the model that takes colour images and gives classes.

# %% frozen_backbone
import dlkit.checks as checks
from dlkit.grading import free_form


def extract(ns):
    found = free_form.find_model(ns, None, None, "image classifier (colour images in, classes out)")
    return {"model": found.model, "found": found.facts()}


def judge(data):
    name = data["found"]["name"]
    weighted = [layer for layer in free_form.layers(data["model"]) if layer["weights"]]
    frozen = [layer for layer in weighted if not layer["trainable"]]
    assert frozen, f"none of the {len(weighted)} layers with weights of `{name}` is frozen: freeze the pretrained backbone (base.trainable = False, or requires_grad False)"
    return {"frozen layers": len(frozen), "layers with weights": len(weighted), "model": free_form.backbone_of(data["model"])}


checks.run(extract, judge, globals())

# %% head
import dlkit.checks as checks
from dlkit.grading import free_form


def extract(ns):
    found = free_form.find_model(ns, None, None, "image classifier (colour images in, classes out)")
    return {"model": found.model, "found": found.facts()}


def judge(data):
    name = data["found"]["name"]
    weighted = [layer for layer in free_form.layers(data["model"]) if layer["weights"]]
    last_frozen = max((i for i, layer in enumerate(weighted) if not layer["trainable"]), default=-1)
    head = [layer for layer in weighted[last_frozen + 1:] if layer["kind"] in ("Dense", "Linear")]
    assert len(head) >= 2, f"`{name}` has {len(head)} trainable dense layer(s) after its frozen backbone: the head needs at least 2"
    assert all(layer["trainable"] for layer in weighted[last_frozen + 1:]), f"`{name}`: its head is not trainable"
    return {"head layers": len(head), "model": free_form.backbone_of(data["model"])}


checks.run(extract, judge, globals())

# %% training
import dlkit.checks as checks
from dlkit.grading import free_form


def extract(ns):
    found = free_form.find_model(ns, None, None, "image classifier (colour images in, classes out)")
    return {"found": found.facts()}


def judge(data):
    found = data["found"]
    assert found["steps"] > 0, f"`{found['name']}` was never trained (its optimizer took no step)"
    return {"optimizer steps": found["steps"], "epochs": found["epochs"]}


checks.run(extract, judge, globals())

# %% test_accuracy
import dlkit.checks as checks
from dlkit.grading import free_form

WHAT = "image classifier (colour images in, as many classes as the college's image folder)"


def extract(ns):
    counts = free_form.image_folder_classes()
    try:
        found = free_form.find_model(ns, None, counts or None, WHAT)
    except checks.MissingObject:
        if not counts:
            raise
        found = free_form.find_model(ns, None, None, WHAT)  # the judge says what does not match
    return {"model": found.model, "found": found.facts()}


def judge(data):
    found = data["found"]
    classes = found["output_shape"][0]
    scores = free_form.image_folder_scores(data["model"], found["input_shape"], classes)
    if not scores:
        raise checks.LeftToInstructor(f"no image folder of the college (Caltech-101) is imported, so the grader cannot measure the accuracy of `{found['name']}`: your instructor judges it (instructor: `dlkit data import` the pack's image folder, e.g. 101_ObjectCategories)")
    folders = ", ".join(f"{name} ({count} classes)" for name, count in scores.get("folders", {}).items())
    if "accuracy" not in scores:
        raise checks.LeftToInstructor(f"`{found['name']}` gives {classes} classes but the imported image folders have other numbers of classes ({folders}), so the grader cannot measure its accuracy on them: your instructor judges it")
    least = free_form.free_form_threshold("exp6-transfer-learning", "test_accuracy")
    assert scores["accuracy"] >= least, f"accuracy of `{found['name']}` measured by the grader on {scores['images']} images of {scores['data']} (a few of each class, drawn with a fixed seed, resized to {scores['size']}, inputs {scores['scaling']}): {scores['accuracy']:.4f}; it must reach {least}"
    return {"test accuracy (grader)": scores["accuracy"], "images (grader)": scores["images"], "data": scores["data"], "inputs": scores["scaling"]}


checks.run(extract, judge, globals())
