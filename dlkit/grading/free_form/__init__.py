"""Free-form grading: notebooks written without the starter, judged on what needs no names.

Students who never opened the starter name their model ``model``, ``autoencoder``, ``net`` or
``vgg`` and follow the lab manual. ``dlkit grade EXP --free-form`` (or ``free_form: true`` in
``rubrics/EXP.yml``) grades them with the criteria of ``rubrics/free-form/EXP.py`` instead of
the master's tests. Those are ordinary tests (``extract``/``judge``, :mod:`dlkit.checks`), one
``# %% <criterion>`` cell each, whose extract half finds the graded object by type and shape:

- :func:`find_model`: the Keras model or torch module whose input fits the experiment's data
  (a ``Flatten`` of 28x28 digits and a flat 784 input alike) and whose output has its classes
  (or, for an autoencoder, its input's size). Among several, the trained one (its optimizer
  took steps: Keras counts them; a torch optimizer holding the module's parameters keeps state,
  or its parameters carry gradients), then the one trained for more epochs (its ``History``),
  more steps, defined later;
- :func:`image_folder_classes` (Experiment 6): the numbers of classes of the image folders the
  college imported (Caltech-101's ``101_ObjectCategories``), which the classifier must give;
- :func:`find_number`: a number named like the brief's (``threshold``, ``thresh``);
- :func:`find_scaler`: the notebook's fitted scikit-learn scaler, exported as its parameters
  (arrays, never a pickle), so that the judge measures a threshold in the notebook's own input
  scaling (:func:`anomaly_scores`);
- :func:`find_embedding` (Experiment 5): the embedding matrix whose rows match a vocabulary of
  the notebook, never a library's (gensim); the one that is no random draw
  (:func:`looks_trained`), then the one whose model took optimizer steps.

The rubric's ``free_form_rubric`` gives each criterion's points (``auto``) and names what is
left to the instructor (``manual``: marked with ``dlkit gradebook set``); the feedback page says
which is which. The judge halves measure with the helpers below, on the registry's data, never
on what the student's process computed.
"""

from __future__ import annotations

from dlkit.grading.free_form.finder import (
    AUTOENCODER_INPUTS,
    DIGITS,
    IMAGES,
    TRAINED_STRUCTURE,
    Found,
    FoundEmbedding,
    exportable_torch,
    find_embedding,
    find_model,
    find_number,
    find_scaler,
    image_folder_classes,
    looks_trained,
    row_structure,
)
from dlkit.grading.free_form.measures import (
    anomaly_data,
    anomaly_scores,
    backbone_of,
    classifier_scores,
    corpus_of,
    data_of_inputs,
    image_folder_scores,
    image_set_of,
    layers,
    neighbour_scores,
    outputs,
    parameter_count,
)
from dlkit.rubrics import free_form_threshold

#: What a criteria file (``rubrics/free-form/<id>.py``) may call as ``free_form.<name>``.
__all__ = ["AUTOENCODER_INPUTS", "DIGITS", "IMAGES", "TRAINED_STRUCTURE", "Found", "FoundEmbedding",
           "anomaly_data", "anomaly_scores", "backbone_of", "classifier_scores", "corpus_of",
           "data_of_inputs", "exportable_torch", "find_embedding", "find_model", "find_number",
           "find_scaler", "free_form_threshold",
           "image_folder_classes", "image_folder_scores", "image_set_of", "layers", "looks_trained",
           "neighbour_scores", "outputs", "parameter_count", "row_structure"]
