"""Git objects get the SHA-1 git itself gives them; diffs and merges behave like git's."""

from __future__ import annotations

from bot.sandbox.diffing import diff_trees
from bot.sandbox.gitstore import Commit, ObjectStore, Signature, merge_text, merge_trees

# Computed with git 2.x: `printf 'hello\n' | git hash-object --stdin`, `git mktree`, `git commit`.
HELLO_BLOB = "ce013625030ba8dba906f756967f9e9ca394464a"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
NESTED_TREE = "5242d61f4c19d768f8fe616bd939076840be232e"  # README.md="top", a/b/x.md="hello\n"
NESTED_COMMIT = "6f3b3aefdf67068f85b4ce67444a195dc461fc62"


def test_blob_tree_and_commit_shas_match_git() -> None:
    store = ObjectStore()
    hello = store.put_blob(b"hello\n")
    top = store.put_blob(b"top")
    tree = store.build({"README.md": ("100644", top), "a/b/x.md": ("100644", hello)})
    who = Signature("T", "t@e", "2020-01-01T00:00:00Z")
    commit = store.put_commit(Commit(tree, (), "init\n", who, who))

    assert hello == HELLO_BLOB
    assert store.empty_tree == EMPTY_TREE
    assert tree == NESTED_TREE
    assert commit == NESTED_COMMIT


def test_tree_entries_sort_like_git_with_subtrees_suffixed() -> None:
    store = ObjectStore()
    blob = store.put_blob(b"x")
    tree = store.build({"a.md": ("100644", blob), "a/b": ("100644", blob), "a-b": ("100644", blob)})
    assert [entry.name for entry in store.trees[tree].entries] == ["a-b", "a.md", "a"]


def test_ancestry_and_merge_base() -> None:
    store = ObjectStore()
    who = Signature("T", "t@e", "2020-01-01T00:00:00+02:00")
    root = store.put_commit(Commit(store.empty_tree, (), "root", who, who))
    left = store.put_commit(Commit(store.empty_tree, (root,), "left", who, who))
    right = store.put_commit(Commit(store.empty_tree, (root,), "right", who, who))
    assert store.is_ancestor(root, left)
    assert not store.is_ancestor(left, right)
    assert store.merge_base(left, right) == root
    assert store.commits_between(root, left) == [left]


def test_text_merge_combines_separate_edits_and_refuses_overlaps() -> None:
    base = "one\ntwo\nthree\nfour\nfive\n"
    ours = "ONE\ntwo\nthree\nfour\nfive\n"
    theirs = "one\ntwo\nthree\nfour\nFIVE\n"
    assert merge_text(base, ours, theirs) == "ONE\ntwo\nthree\nfour\nFIVE\n"
    assert merge_text(base, "uno\n" + base[4:], "eins\n" + base[4:]) is None


def test_merge_trees_reports_conflicting_paths() -> None:
    store = ObjectStore()
    a, b, c = (store.put_blob(text.encode()) for text in ("a\n", "b\n", "c\n"))
    base = {"f": ("100644", a), "g": ("100644", a)}
    merged, conflicts = merge_trees(
        store, base, {"f": ("100644", b), "g": ("100644", a)}, {"f": ("100644", c)}
    )
    assert conflicts == ["f"]
    assert "g" not in merged


def test_diff_detects_renames_and_counts_lines() -> None:
    store = ObjectStore()
    same = store.put_blob(b"unchanged\n")
    old = store.put_blob(b"a\nb\n")
    new = store.put_blob(b"a\nc\nd\n")
    changes = diff_trees(
        store,
        {"old/name.md": ("100644", same), "x.md": ("100644", old)},
        {"new/name.md": ("100644", same), "x.md": ("100644", new)},
    )
    by_name = {change.filename: change for change in changes}
    assert by_name["new/name.md"].status == "renamed"
    assert by_name["new/name.md"].previous_filename == "old/name.md"
    assert (by_name["x.md"].additions, by_name["x.md"].deletions) == (2, 1)
    assert by_name["x.md"].patch is not None and by_name["x.md"].patch.startswith("@@")
