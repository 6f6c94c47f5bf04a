"""Work around tasks: the inbox, participation (drafts, comments, returns, tracking), extensions, page queries."""
