"""The API's write endpoints for the workflow steps (``/api/v1/...``, names ``api:<thing>-<step>``): each a POST
through the same scope, form and service as its page (``api.steps``). ``api.urls`` includes this module."""

from django.urls import path

from api import steps

urlpatterns = [
    path("members/<int:pk>/introduce/", steps.IntroduceView.as_view(), name="referral-introduce"),
    path("referrals/<int:pk>/receive/", steps.ReceiveView.as_view(), name="referral-receive"),
    path("referrals/<int:pk>/place/", steps.PlaceView.as_view(), name="referral-place"),
    path("referrals/<int:pk>/replace/", steps.ReplaceView.as_view(), name="referral-replace"),
    path("referrals/<int:pk>/report/", steps.ReportView.as_view(), name="referral-report"),
    path("referrals/<int:pk>/end/", steps.EndView.as_view(), name="referral-end"),
    path("cells/<int:pk>/meetings/", steps.MeetingCreateView.as_view(), name="meeting-create"),
    path("meetings/<int:pk>/update/", steps.MeetingUpdateView.as_view(), name="meeting-update"),
    path("meetings/<int:pk>/attendance/all-present/", steps.AllPresentView.as_view(), name="attendance-all-present"),
    path("meetings/<int:pk>/attendance/<int:member_pk>/", steps.AttendanceView.as_view(), name="attendance-mark"),
    path("comments/<int:year>/<int:member_pk>/write/", steps.CommentWriteView.as_view(), name="comment-write"),
    path("comments/<int:pk>/update/", steps.CommentUpdateView.as_view(), name="comment-update"),
    path("comments/<int:pk>/send/", steps.CommentSendView.as_view(), name="comment-send"),
    path("comments/<int:pk>/receive/", steps.CommentReceiveView.as_view(), name="comment-receive"),
    path("members/<int:pk>/exemption/", steps.ExemptionSetView.as_view(), name="exemption-set"),
    path("members/<int:pk>/exemption/clear/", steps.ExemptionClearView.as_view(), name="exemption-clear"),
    path("ratings/<int:year>/<int:member_pk>/", steps.RatingView.as_view(), name="rating-record"),
]
