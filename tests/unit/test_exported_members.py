import nexosis_pandas


def test_all_is_sorted_and_complete() -> None:
    exported = nexosis_pandas.__all__
    assert exported == sorted(exported, key=str)
    public = {name for name in dir(nexosis_pandas) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(nexosis_pandas, name)).__name__ == "module"}
    assert set(exported) - {"__version__"} == public - modules
