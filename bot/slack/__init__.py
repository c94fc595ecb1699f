"""The Slack door: a slack-bolt app that checks pasted stories and shared links in threads."""
