"""The only code that imports pygit2 or runs git: the repository (``repo``), notes plumbing (``notes``), the
questions asked of the git binary before pygit2 is loaded (``command``), and history written without a
work tree (``build``).

Imports nothing of gitokens but ``errors``. Kept light: importing ``gitokens.git.command`` must not load
pygit2, so this package imports none of its modules itself.
"""
