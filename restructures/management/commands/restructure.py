"""``manage.py restructure {merge,split,rename,move} --date YYYY-MM-DD ...``: plan a restructure, print the plan, and
apply it with ``--yes`` (or after a "y" on a terminal); a refusal prints its problems and exits non-zero."""

import sys

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from restructures.plans import Plan, assignment_from_file, plan_merge, plan_move, plan_rename, plan_split
from restructures.services import OFFICERS_CHOICES, apply_plan

KINDS = ("merge", "split", "rename", "move")


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or []:
        key, sep, other = value.partition("=")
        if not sep or not key.strip() or not other.strip():
            raise CommandError(f"{option} takes KEY=VALUE, not {value!r}.")
        pairs[key.strip()] = other.strip()
    return pairs


# Marked here, not inside the f-strings that use them (the message extractor does not read f-strings).
DIVIDED = gettext_lazy("(divided among the parts)")
POST_ENDS = gettext_lazy("ends")


class Command(BaseCommand):
    help = (
        "Restructure the organisation tree on an effective date: merge, split, rename or move. Prints the plan "
        "(which organisations end and start, how many homes, placements and referrals move where, the officers' "
        "posts, meetings and comment rounds affected) and applies it in one transaction with --yes."
    )

    def add_arguments(self, parser):
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="{merge,split,rename,move}")
        merge = kinds.add_parser("merge", help="Merge organisations of one kind into one of them or a new one.")
        merge.add_argument("--codes", nargs="+", required=True, metavar="CODE", help="The organisations merged.")
        merge.add_argument("--into", help="The one of them that continues (its row is kept).")
        merge.add_argument("--new-code", help="The code of a new organisation they merge into.")
        merge.add_argument("--new-name", help="The name of that new organisation.")
        merge.add_argument("--parent", help="The new organisation's parent (default: the one they share).")
        split = kinds.add_parser("split", help="Split one organisation into several new ones.")
        split.add_argument("--code", required=True)
        split.add_argument("--part", action="append", required=True, metavar="CODE=NAME", help="A part (repeat).")
        assign = split.add_mutually_exclusive_group(required=True)
        assign.add_argument("--assign", metavar="FILE", help="An .xlsx or .csv: Mã or Số thẻ, and Mã kế tục.")
        assign.add_argument(
            "--assign-item", action="append", metavar="KEY=PART", help="A cell code or a card number, and its part."
        )
        rename = kinds.add_parser("rename", help="Rename an organisation from a day (its row and code stay).")
        rename.add_argument("--code", required=True)
        rename.add_argument("--name", required=True)
        move = kinds.add_parser("move", help="End an organisation and start its successor under another parent.")
        move.add_argument("--code", required=True)
        move.add_argument("--parent", required=True)
        move.add_argument("--new-code", help="The successor's code (default: <code>-<yyyy>).")
        for sub in (merge, split, rename, move):
            sub.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="The effective date.")
            sub.add_argument("--dry-run", action="store_true", help="Print the plan, apply nothing.")
            sub.add_argument("--yes", action="store_true", help="Apply without asking.")
            sub.add_argument("--note", default="", help="The note of the restructure record (e.g. the decision).")
            sub.add_argument("--by", metavar="USERNAME", help="Who records it.")
            if sub is not rename:
                sub.add_argument(
                    "--child",
                    action="append",
                    metavar="OLD=NEW",
                    help="The successor of a subordinate organisation that ends (repeat).",
                )
                sub.add_argument(
                    "--officers",
                    choices=OFFICERS_CHOICES,
                    default="follow",
                    help="Posts at the organisations that end follow to the successor (default) or end.",
                )

    def handle(self, *args, kind, date, dry_run, yes, note, by, **options):
        user = None
        if by:
            user = get_user_model().objects.filter(username=by).first()
            if user is None:
                raise CommandError(f"No user is called {by!r}.")
        plan = self._plan(kind, date, options)
        self.stdout.write(describe(plan))
        if plan.problems:
            raise CommandError(
                "\n".join([_("The restructure is refused:"), *(f"- {problem}" for problem in plan.problems)])
            )
        if dry_run:
            self.stdout.write(_("Dry run: nothing was written."))
            return
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError("Add --yes to apply the restructure (or --dry-run to only print it).")
            answer = input(_("Apply this restructure? [y/N] ")).strip().lower()
            if answer not in ("y", "yes", "c", "có"):
                self.stdout.write(_("Nothing was written."))
                return
        try:
            record = apply_plan(plan, by=user, note=note, officers=options.get("officers") or "follow")
        except ValidationError as error:
            messages = [message for messages in error.message_dict.values() for message in messages]
            raise CommandError("\n".join([_("The restructure is refused:"), *(f"- {m}" for m in messages)])) from None
        self.stdout.write(
            _("Recorded: %(kind)s on %(day)s (record %(pk)s).")
            % {"kind": record.get_kind_display(), "day": record.effective_on.strftime("%d/%m/%Y"), "pk": record.pk}
        )

    def _plan(self, kind: str, date: str, options: dict) -> Plan:
        children = _pairs(options.get("child"), "--child")
        if kind == "merge":
            return plan_merge(
                codes=options["codes"],
                effective_on=date,
                into=options.get("into"),
                new_code=options.get("new_code"),
                new_name=options.get("new_name"),
                parent=options.get("parent"),
                children=children,
            )
        if kind == "split":
            parts = list(_pairs(options["part"], "--part").items())
            if options.get("assign"):
                try:
                    assignment = assignment_from_file(options["assign"])
                except OSError as error:
                    raise CommandError(f"Cannot read {options['assign']!r}: {error.strerror}.") from None
                except ValidationError as error:
                    raise CommandError("\n".join(error.messages)) from None
            else:
                assignment = _pairs(options.get("assign_item"), "--assign-item")
            return plan_split(
                code=options["code"], effective_on=date, parts=parts, assignment=assignment, children=children
            )
        if kind == "rename":
            return plan_rename(code=options["code"], effective_on=date, name=options["name"])
        return plan_move(
            code=options["code"],
            effective_on=date,
            parent=options["parent"],
            new_code=options.get("new_code"),
            children=children,
        )


def describe(plan: Plan) -> str:
    """The plan as text: what ends and starts, the counts of each flow, what else is touched (the problems are the
    command's error)."""
    day = plan.effective_on.strftime("%d/%m/%Y") if plan.effective_on else "?"
    lines = [_("Restructure (%(kind)s) effective on %(day)s") % {"kind": plan.kind, "day": day}]

    def section(title: str, rows: list[str]) -> None:
        if rows:
            lines.append(title)
            lines.extend(f"  {row}" for row in rows)

    section(
        _("Ending:"),
        [f"{o.code} {o.name} → {plan.successor_of.get(o.code) or DIVIDED}" for o in plan.ending],
    )
    section(_("Starting:"), [f"{n.code} {n.name} ({n.kind}) under {n.parent_code}" for n in plan.starting])
    section(_("Renamed:"), [f"{o.code}: {o.name} → {name}" for o, name in plan.renamed])
    for title, flows in (
        (_("Members' homes:"), plan.homes),
        (_("Open placements:"), plan.placements),
        (_("Referrals not yet placed (their ward follows the successor):"), plan.unplaced),
    ):
        total = sum(flow.count for flow in flows)
        section(f"{title} {total}" if flows else title, [f"{f.from_code} → {f.to_code}: {f.count}" for f in flows])
    section(
        _("Officers' posts:"),
        [f"{username}: {source} → {target or POST_ENDS}" for username, source, target in plan.officers],
    )
    if plan.meetings_affected:
        lines.append(_("Meetings on or after the day in organisations that end: %(n)s") % {"n": plan.meetings_affected})
    if plan.comment_years_affected:
        lines.append(
            _("Comment rounds due on or after the day with comments in them: %(years)s")
            % {"years": ", ".join(map(str, plan.comment_years_affected))}
        )
    return "\n".join(lines)
