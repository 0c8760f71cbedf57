"""The ancestor relation of the tree (``OrganisationAncestor``): its rows written anew from the paths, and a check.

Triggers keep the rows exact on every write of an organisation (migration ``branches/0003``). A bulk load that
disables them (``session_replication_role = replica``, or triggers dropped during a COPY) calls ``rebuild_all`` after
loading, in the same transaction or before anyone reads.
"""

from django.db import DEFAULT_DB_ALIAS, connections

from branches.models import PATH_STEP_DIGITS, Organisation, OrganisationAncestor

# One step of a path is its digits and a "/": 9 characters.
assert PATH_STEP_DIGITS + 1 == 9

# The ancestors of each organisation read from its own path ("00000001/00000007/" -> 1 at depth 1, 7 at depth 0).
FROM_PATHS = {
    "postgresql": """
        INSERT INTO branches_organisationancestor (ancestor_id, descendant_id, depth)
        SELECT step.id::bigint, o.id, length(o.path) / 9 - step.ord
        FROM branches_organisation o,
             unnest(string_to_array(rtrim(o.path, '/'), '/')) WITH ORDINALITY AS step(id, ord)
        WHERE o.path <> ''""",
    "sqlite": """
        INSERT INTO branches_organisationancestor (ancestor_id, descendant_id, depth)
        SELECT CAST(step.value AS INTEGER), o.id, length(o.path) / 9 - 1 - step.key
        FROM branches_organisation o,
             json_each('["' || replace(rtrim(o.path, '/'), '/', '","') || '"]') AS step
        WHERE o.path <> ''""",
}


def rebuild_all(using: str = DEFAULT_DB_ALIAS) -> int:
    """Write every row of the ancestor relation anew from the organisations' paths (one DELETE, one INSERT ... SELECT,
    whatever the size of the tree); returns the number of rows."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM branches_organisationancestor")
        cursor.execute(FROM_PATHS[connection.vendor])
        rows = cursor.rowcount
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE branches_organisationancestor")
    return rows


def expected_pairs(using: str = DEFAULT_DB_ALIAS) -> set[tuple[int, int, int]]:
    """(ancestor, descendant, depth) as the paths say, computed in Python: what the relation must hold."""
    pairs = set()
    for pk, path in Organisation.objects.using(using).values_list("pk", "path"):
        steps = [int(step) for step in path.split("/") if step]
        for index, ancestor in enumerate(steps):
            pairs.add((ancestor, pk, len(steps) - 1 - index))
    return pairs


def stored_pairs(using: str = DEFAULT_DB_ALIAS) -> set[tuple[int, int, int]]:
    return set(OrganisationAncestor.objects.using(using).values_list("ancestor_id", "descendant_id", "depth"))
