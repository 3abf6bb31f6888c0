"""Template filters for masked contacts: `{% load masking %}{{ c.mobile|mask_phone }}` (patent_platform/masking.py)."""

from django import template

from patent_platform import masking

register = template.Library()
register.filter("mask_phone", masking.mask_phone)
register.filter("mask_email", masking.mask_email)
register.filter("mask_name", masking.mask_name)
