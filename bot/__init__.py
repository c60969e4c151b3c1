"""engagiert-bot: first-mile volunteering advice for migrants in Leipzig, then advisors."""

__version__ = "0.1.0"
