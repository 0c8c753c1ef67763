# Free-form criteria of Experiment 5 (CBOW word embeddings): notebooks written without the
# starter, in Keras, torch or NumPy, on any corpus. Each `# %% <criterion>` cell is a test
# (extract, then judge; see dlkit/checks.py) whose marks are in rubrics/exp5-cbow.yml
# (free_form_rubric); the embedding matrix is found with its vocabulary, whatever their names
# (dlkit/grading/free_form.py: find_embedding), and judged on the exported matrix only.

# %% embedding
import dlkit.checks as checks
import dlkit.experiments as dlkit_experiments
from dlkit.grading import free_form


def extract(ns):
    found = free_form.find_embedding(ns)
    return {"embeddings": found.matrix, "found": found.facts(),
            "library": checks.library_vectors(ns, found.words, found.matrix.shape[1])}


def judge(data):
    found, embeddings = data["found"], data["embeddings"]
    where = f"{found['name']} ({found['rows']} words of `{found['vocabulary']}` x {found['dim']})"
    assert float(abs(embeddings).max()) < float("inf"), f"the embedding matrix {where} holds NaN or infinite values: lower the learning rate"
    most = dlkit_experiments.threshold("exp5-cbow", "library_agreement")
    copied = max((checks.similarity_agreement(embeddings, vectors) for vectors in data["library"]), default=0.0)
    assert copied <= most, f"the embedding matrix {where} is gensim's: its word similarities agree {copied:.3f} with those of the gensim model in the notebook, above {most} (a CBOW model trained on its own agrees about 0.8); hand in the vectors of your own CBOW model"
    return {"vocabulary": found["rows"], "dimensions": found["dim"]}


checks.run(extract, judge, globals())

# %% training
import dlkit.checks as checks
from dlkit.grading import free_form


def extract(ns):
    found = free_form.find_embedding(ns)
    return {"embeddings": found.matrix, "found": found.facts()}


def judge(data):
    found = data["found"]
    structure, z = free_form.row_structure(data["embeddings"])
    steps = f"its model's optimizer took {found['steps']} step(s)" if found["framework"] != "numpy" else "it is a plain array"
    assert free_form.looks_trained(data["embeddings"]), f"the embedding matrix {found['name']} ({found['rows']} x {found['dim']}) still looks like its random initialisation: the grader finds no more likeness between its rows than between random draws (row structure {structure:.2f}, {z:.1f} standard deviations above a draw; trained embeddings reach {free_form.TRAINED_STRUCTURE} and 8); {steps}. Train the model (more epochs, a larger learning rate), then take its weights"
    return {"row structure (grader)": structure, "optimizer steps": found["steps"]}


checks.run(extract, judge, globals())

# %% neighbour_quality
import dlkit.checks as checks
from dlkit.grading import free_form


def extract(ns):
    found = free_form.find_embedding(ns)
    return {"embeddings": found.matrix, "words": found.words, "found": found.facts()}


def judge(data):
    found = data["found"]
    scores = free_form.neighbour_scores(data["embeddings"], data["words"])
    shares = ", ".join(f"{share:.0%} of them in {corpus}" for corpus, share in scores["coverage"].items())
    if "quality" not in scores:
        raise checks.LeftToInstructor(f"the vocabulary `{found['vocabulary']}` ({found['rows']} words; {shares}) is not one of the corpora the grader has (BBC News, the King James Bible) with their word groups (months, weekdays, nations; tribes, animals, metals, kin), so the grader cannot measure the quality of its nearest neighbours: your instructor judges them")
    shown = ", ".join(f"{group} {value:.2f}" for group, value in scores["quality"].items())
    assert scores["score"] >= scores["threshold"], f"neighbour quality of {found['name']} measured by the grader on its vocabulary ({scores['corpus']}): {scores['score']:.3f} ({shown}); it must reach {scores['threshold']}: train for more epochs or with a larger learning rate"
    corpus = {"bbc-news": "BBC News", "kjv": "the King James Bible"}.get(scores["corpus"], scores["corpus"])
    return {"neighbour quality (grader)": scores["score"], **{f"quality {group}": value for group, value in scores["quality"].items()}, "data": corpus}


checks.run(extract, judge, globals())
