"""Members and everything that happens to them under the regulation, one module per aggregate."""

from members.models.comment import CommentRound, ResidenceComment, YearEndRating
from members.models.history import MemberHome, Placement
from members.models.meeting import Attendance, Meeting
from members.models.member import Exemption, Member
from members.models.referral import Referral

__all__ = [
    "Attendance",
    "CommentRound",
    "Exemption",
    "Meeting",
    "Member",
    "MemberHome",
    "Placement",
    "Referral",
    "ResidenceComment",
    "YearEndRating",
]
