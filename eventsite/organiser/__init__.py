"""The organiser workspace under /manage/."""
