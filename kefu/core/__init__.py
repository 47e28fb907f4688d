"""Small shared kernel: clock, calendar, events, errors, ids, i18n."""
