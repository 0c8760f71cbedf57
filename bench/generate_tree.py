"""The organisation tree of a generated data set (``bench/generate.py``), drawn in Python: a few hundred thousand rows
at most, with their primary keys and paths known before they are written, so that the members' rows can be drawn in
SQL against them.

Shape (per province): upper-level committees (districts) under the province, and under them, round robin, the
grassroots organisations: wards (a fifth), each with its residential cells and an agency cell; grassroots committees
(a quarter), each with subordinate cells; grassroots cells (the rest). Outside organisations stand apart (no parent).
The province is the root at province size; at nation size the provinces are upper-level committees under a national
root (``ALLOWED_PARENT_KINDS``: an upper-level committee may stand under the root or another upper-level committee).

History: about 1% of each province's wards merged into the next ward on ``merge_day(as_of)`` (the ward and its
residential and agency cells end that day, each with its successor), about 2% of the grassroots organisations were
renamed on ``rename_day(as_of)`` (a former name), and one grassroots cell per province was dissolved before the
history starts.
"""

import dataclasses
import datetime

from branches.models import PATH_STEP_DIGITS

Day = datetime.date
SINCE = Day(2000, 1, 1)


def merge_day(as_of: Day) -> Day:
    """The wards merge on 1 January of the year before the as-of day (2017 for 30/09/2018)."""
    return Day(as_of.year - 1, 1, 1)


def rename_day(as_of: Day) -> Day:
    return Day(as_of.year - 2, 7, 1)


def dissolved_day(as_of: Day) -> Day:
    return Day(as_of.year - 4, 7, 1)


SECTORS = ("party_state", "enterprise", "public_service", "party_state", "enterprise", "armed_forces")
COMMITTEE_NAMES = {
    "party_state": "Đảng bộ Cơ quan",
    "enterprise": "Đảng bộ Công ty",
    "public_service": "Đảng bộ Bệnh viện",
    "armed_forces": "Đảng bộ Quân sự",
}
GRASSROOTS_CELL_NAMES = {
    "party_state": "Chi bộ Phòng",
    "enterprise": "Chi bộ Doanh nghiệp",
    "public_service": "Chi bộ Trường",
    "armed_forces": "Chi bộ Đồn Biên phòng",
}


@dataclasses.dataclass(frozen=True)
class Size:
    name: str
    provinces: int  # 0: the province is the root
    districts: int  # upper-level committees per province
    grassroots: int  # grassroots organisations per province (wards, committees, grassroots cells)
    members: int  # members per province
    residential_cells: int = 8  # per ward
    cells_per_committee: int = 4
    outside: int = 10  # outside organisations per province

    @property
    def province_count(self) -> int:
        return max(self.provinces, 1)


SIZES = {
    "province": Size("province", provinces=0, districts=10, grassroots=1000, members=100_000),
    # 63 provinces x 826 = 52,038 grassroots organisations; 63 x 88,900 = 5,600,700 members.
    "nation": Size("nation", provinces=63, districts=11, grassroots=826, members=88_900),
}


@dataclasses.dataclass
class Org:
    id: int
    code: str
    name: str
    kind: str
    sector: str
    parent: "Org | None"
    valid_to: Day | None = None
    successor: "Org | None" = None
    path: str = ""
    province: int = 0
    grassroots: "Org | None" = None  # the grassroots organisation a workplace cell belongs to
    former_name: str | None = None

    def row(self) -> tuple:
        return (
            self.id,
            self.code,
            self.name,
            self.kind,
            self.sector,
            Day(1997, 1, 1) if self.kind == "grassroots_cell" and self.valid_to else SINCE,
            self.valid_to,
            "",
            self.path,
            self.parent.id if self.parent else None,
            self.successor.id if self.successor else None,
        )


@dataclasses.dataclass
class Tree:
    orgs: list[Org]
    root: Org
    workplaces: list[Org]  # cells members work in (subordinate cells, grassroots cells, ward agency cells)
    wards: list[Org]
    residential_cells: dict[int, list[Org]]  # by ward id
    outside: list[Org]
    committees: list[Org]
    merges: list[tuple[Org, Org]]  # (merged ward, the ward it merged into)


def build_tree(size: Size, first_id: int, as_of: Day) -> Tree:
    orgs: list[Org] = []
    next_id = first_id

    def add(code, name, kind, sector, parent, province) -> Org:
        nonlocal next_id
        org = Org(next_id, code, name, kind, sector, parent, province=province)
        org.path = (parent.path if parent else "") + f"{org.id:0{PATH_STEP_DIGITS}d}/"
        next_id += 1
        orgs.append(org)
        return org

    if size.provinces:
        root = add("VN", "Đảng bộ toàn quốc", "root", "party_state", None, 0)
    else:
        root = add("T01", "Đảng bộ tỉnh Số 1", "root", "party_state", None, 0)
    workplaces, wards, outside, committees, merges = [], [], [], [], []
    residential_cells: dict[int, list[Org]] = {}
    for p in range(size.province_count):
        prefix = f"T{p + 1:02d}"
        province = (
            add(prefix, f"Đảng bộ tỉnh Số {p + 1}", "upper_committee", "party_state", root, p)
            if size.provinces
            else root
        )
        districts = [
            add(
                f"{prefix}-H{d + 1:02d}",
                f"Đảng bộ huyện Số {d + 1}, tỉnh {p + 1}",
                "upper_committee",
                "party_state",
                province,
                p,
            )
            for d in range(size.districts)
        ]
        ward_count = size.grassroots // 5
        committee_count = size.grassroots // 4
        cell_count = size.grassroots - ward_count - committee_count
        province_wards = []
        for n in range(ward_count):
            district = districts[n % len(districts)]
            kind_word = "phường" if n % 3 == 0 else "xã"
            ward = add(
                f"{prefix}-X{n + 1:04d}", f"Đảng bộ {kind_word} Số {n + 1}, tỉnh {p + 1}", "ward", "ward", district, p
            )
            cells = [
                add(
                    f"{ward.code}-KP{k + 1}",
                    f"Chi bộ khu phố {k + 1}, {kind_word} Số {n + 1}",
                    "residential_cell",
                    "ward",
                    ward,
                    p,
                )
                for k in range(size.residential_cells)
            ]
            agency = add(f"{ward.code}-CQ", f"Chi bộ Cơ quan {kind_word} Số {n + 1}", "cell", "ward", ward, p)
            agency.grassroots = ward
            residential_cells[ward.id] = cells
            workplaces.append(agency)
            province_wards.append(ward)
        wards.extend(province_wards)
        for n in range(committee_count):
            sector = SECTORS[n % len(SECTORS)]
            district = districts[n % len(districts)]
            committee = add(
                f"{prefix}-D{n + 1:04d}",
                f"{COMMITTEE_NAMES[sector]} Số {n + 1}, tỉnh {p + 1}",
                "committee",
                sector,
                district,
                p,
            )
            committees.append(committee)
            for k in range(size.cells_per_committee):
                cell = add(
                    f"{committee.code}-{k + 1:02d}",
                    f"Chi bộ {k + 1}, {committee.name[8:]}",
                    "cell",
                    sector,
                    committee,
                    p,
                )
                cell.grassroots = committee
                workplaces.append(cell)
        for n in range(cell_count):
            sector = SECTORS[(n + 1) % len(SECTORS)]
            cell = add(
                f"{prefix}-C{n + 1:04d}",
                f"{GRASSROOTS_CELL_NAMES[sector]} Số {n + 1}, tỉnh {p + 1}",
                "grassroots_cell",
                sector,
                districts[n % len(districts)],
                p,
            )
            cell.grassroots = cell
            workplaces.append(cell)
        dissolved = add(
            f"{prefix}-C0000",
            f"Chi bộ Xí nghiệp đã giải thể, tỉnh {p + 1}",
            "grassroots_cell",
            "enterprise",
            districts[0],
            p,
        )
        dissolved.valid_to = dissolved_day(as_of)
        for n in range(size.outside):
            outside.append(
                add(
                    f"{prefix}-NG{n + 1:02d}",
                    f"Đảng bộ Trung ương Số {n + 1} tại tỉnh {p + 1}",
                    "outside",
                    "party_state",
                    None,
                    p,
                )
            )
        # Mergers: the ward 10, 110, 210, ... of each province into the ward after it, with its cells.
        for n in range(min(9, ward_count - 2), ward_count - 1, 100):
            merged, into = province_wards[n], province_wards[n + 1]
            merges.append((merged, into))
            merged.valid_to, merged.successor = merge_day(as_of), into
            targets = residential_cells[into.id]
            for k, cell in enumerate(residential_cells[merged.id]):
                cell.valid_to, cell.successor = merge_day(as_of), targets[k % len(targets)]
            agency = next(o for o in workplaces if o.parent is merged)
            agency.valid_to = merge_day(as_of)
            agency.successor = next(o for o in workplaces if o.parent is into)
        # Renames: every fiftieth grassroots organisation bore another name until rename_day(as_of).
        grassroots = [o for o in orgs if o.province == p and o.kind in ("ward", "committee", "grassroots_cell")]
        for org in grassroots[4::50]:
            if org.valid_to is None:
                org.former_name = org.name.replace("Số", "cũ Số", 1)
    return Tree(orgs, root, workplaces, wards, residential_cells, outside, committees, merges)
