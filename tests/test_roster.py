"""roster.csv: reading, every problem reported with its line, and syncing into the gradebook."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from dlkit.errors import DlkitError, RosterError
from dlkit.gradebook import Gradebook, Student
from dlkit.roster import RosterEntry, read_roster, sync_roster


def write_roster(folder: Path, text: str, *, bom: bool = False) -> Path:
    path = folder / "roster.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def problems(path: Path, **kwargs) -> list[str]:
    with pytest.raises(RosterError) as caught:
        read_roster(path, **kwargs)
    return caught.value.problems


@pytest.mark.parametrize("bom", [True, False])
def test_reads_every_column_in_any_script_with_or_without_bom(tmp_path, bom):
    path = write_roster(tmp_path, (
        "Roll,NAME,Batch,Email,PRN,Division\n"
        "41101,अमित पाटील,B1,amit@example.org,72012345K,A\n"
        '41102,"Tom & Jerry <TJ>",B2,tj@example.org,,B\n'
        '41103,"Patil, Sneha",B1,sneha@example.org,72012347M,A\n'), bom=bom)
    assert read_roster(path) == [
        RosterEntry("41101", "अमित पाटील", "B1", "amit@example.org", "72012345K", "A"),
        RosterEntry("41102", "Tom & Jerry <TJ>", "B2", "tj@example.org", "", "B"),
        RosterEntry("41103", "Patil, Sneha", "B1", "sneha@example.org", "72012347M", "A"),
    ]


def test_optional_columns_may_be_absent_and_unknown_ones_are_ignored(tmp_path):
    path = write_roster(tmp_path, (
        "email , batch,phone,name,roll\r\n"
        " a@example.org , B1 ,99999, Asha Rao , 41104 \r\n"
        "\r\n"
        ",,,,\r\n"))
    assert read_roster(path) == [RosterEntry("41104", "Asha Rao", "B1", "a@example.org")]


def test_every_problem_is_reported_at_once_with_its_line(tmp_path):
    path = write_roster(tmp_path, (
        "roll,name,batch,email\n"        # line 1
        "41101,Amit Patil,B1,a@x.org\n"  # line 2
        "41102,,B1,b@x.org\n"            # line 3: empty name
        "\n"                             # line 4: blank, still counted
        ",Nobody,B1,n@x.org\n"           # line 5: empty roll
        "41101,Amit Again,B1,c@x.org\n"  # line 6: duplicate of line 2
        "41106,Zed,B9,z@x.org\n"))       # line 7: unknown batch
    assert problems(path, batches={"B1", "B2"}) == [
        "roster.csv line 3: empty name",
        "roster.csv line 5: empty roll number",
        "roster.csv line 6: duplicate roll number '41101' (also on line 2)",
        "roster.csv line 7: unknown batch 'B9' (batches: B1, B2)",
    ]


def test_line_numbers_count_lines_inside_quoted_fields(tmp_path):
    path = write_roster(tmp_path, (
        "roll,name,batch,email\n"
        '41101,Amit Patil,B1,"a@x.org\nsecond line"\n'  # lines 2-3
        "41101,Amit Again,B1,c@x.org\n"))                # line 4
    assert problems(path) == ["roster.csv line 4: duplicate roll number '41101' (also on line 2)"]


def test_missing_required_columns(tmp_path):
    path = write_roster(tmp_path, "Roll,Name\n41101,Amit Patil\n")
    [problem] = problems(path)
    assert problem.startswith("roster.csv line 1: missing required column(s) batch, email")


def test_batches_compare_ignoring_case_and_take_the_given_spelling(tmp_path):
    path = write_roster(tmp_path, "roll,name,batch,email\n41101,Amit Patil,b1,a@x.org\n")
    assert read_roster(path, batches={"B1"})[0].batch == "B1"


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes("roll,name,batch,email\n41101,Amit,B1,a@x.org\n41102,José,B1,j@x.org\n"
                     .encode("cp1252"))
    [problem] = problems(path)
    assert problem.startswith("roster.csv line 3: not UTF-8 text")


def test_missing_or_empty_file(tmp_path):
    assert "cannot read" in problems(tmp_path / "roster.csv")[0]
    assert "empty file" in problems(write_roster(tmp_path, ""))[0]


def test_error_message_lists_every_problem(tmp_path):
    path = write_roster(tmp_path, "roll,name,batch,email\n,,B1,x@x.org\n")
    with pytest.raises(DlkitError) as caught:
        read_roster(path)
    assert caught.value.where == str(path) and caught.value.fix
    assert "roster.csv line 2: empty roll number" in caught.value.message
    assert "roster.csv line 2: empty name" in caught.value.message


def test_sync_roster_inserts_then_updates_and_keeps_other_students(tmp_path):
    gradebook = Gradebook.open(tmp_path)
    with gradebook.session() as session:
        session.add(Student(roll="40000", name="Left the class"))
    amit = RosterEntry("41101", "अमित पाटील", "B1", "amit@example.org", "72012345K", "A")
    tom = RosterEntry("41102", "Tom & Jerry <TJ>", "B2", "tj@example.org")
    first = sync_roster(gradebook, [amit, tom])
    assert (first.added, first.updated, first.unchanged) == (["41101", "41102"], [], [])

    moved = RosterEntry("41102", "Tom & Jerry <TJ>", "B3", "tj@example.org")
    second = sync_roster(gradebook, [amit, moved])
    assert (second.added, second.updated, second.unchanged) == ([], ["41102"], ["41101"])

    with Gradebook.open(tmp_path).session() as session:  # a fresh handle reads it back
        students = {s.roll: s for s in session.scalars(select(Student))}
    assert set(students) == {"40000", "41101", "41102"}
    assert students["41101"].name == "अमित पाटील" and students["41101"].prn == "72012345K"
    assert students["41102"].name == "Tom & Jerry <TJ>" and students["41102"].batch == "B3"
