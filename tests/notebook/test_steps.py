"""The small notebook steps."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from dlkit.notebook import steps


def _notebook():
    cell = new_code_cell("print(1)", execution_count=3, outputs=[new_output("stream", text="1")])
    md = new_markdown_cell("![x](attachment:x.png)")
    md["attachments"] = {"x.png": {"image/png": "AAAA"}}
    nb = new_notebook(cells=[cell, md], metadata={"kernelspec": {"name": "conda-env-dl", "display_name": "dl"}})
    return nb


def test_clear_outputs_removes_outputs_counts_and_attachments():
    nb = steps.clear_outputs(_notebook())
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count is None
    assert "attachments" not in nb.cells[1]


def test_normalise_kernelspec():
    assert steps.normalise_kernelspec(_notebook()).metadata.kernelspec.name == "python3"


def test_drop_cell_ids_gives_nbformat_4_4():
    nb = steps.drop_cell_ids(_notebook())
    assert all("id" not in c for c in nb.cells) and nb.nbformat_minor == 4


def test_release_pipeline_is_declared_as_data():
    assert steps.RELEASE_STEPS == [steps.clear_outputs, steps.normalise_kernelspec,
                                   steps.drop_cell_ids]
    assert steps.clear_outputs not in steps.SOLUTION_STEPS  # solutions keep their plots
