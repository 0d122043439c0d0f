/* bt-fd-identity.c: which file a caller's descriptor is, to open it again
 *
 * A sandboxed app names its files only by descriptor (destination-fd,
 * source-fd, response-destination). A descriptor dies with the service;
 * the transfer must not (docs/contract.md "Applications and isolation"). So at creation the
 * service records what the descriptor is: the path it resolves to on the
 * host, its device and inode. After a restart it opens that path again,
 * never through a symbolic link (openat2 RESOLVE_NO_SYMLINKS, or a walk
 * component by component with O_NOFOLLOW), and only if it is still the
 * same file (device and inode, a regular file); otherwise the transfer
 * ends with a clear error and nothing is written anywhere. A pipe or a
 * socket has no path: it cannot be opened again.
 *
 * A file of the document portal (a Flatpak app's file from the
 * FileChooser portal) is recorded as its document and its host file
 * (bt-documents.c): the portal's own device and inode numbers do not
 * outlive a logout, the host file's do.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bt-documents.h"
#include "bt-error.h"
#include "bt-fd-identity.h"

struct _BtFdIdentity
{
  char *path; /* NULL: cannot be opened again (pipe, socket, deleted) */
  guint64 dev;
  guint64 ino;
  /* A file of the document portal: path, dev and ino are the host file's
   * once host_known; until then the portal's own */
  char *document;      /* the document id, or NULL */
  char *document_path; /* the path after the document id */
  gboolean host_known;
};

/*
 * bt_fd_identity_new:
 *
 * Returns: (transfer full): what @fd is; never %NULL
 */
BtFdIdentity *
bt_fd_identity_new (int fd)
{
  BtFdIdentity *self = g_new0 (BtFdIdentity, 1);
  g_autofree char *link = g_strdup_printf ("/proc/self/fd/%d", fd);
  g_autofree char *target = g_file_read_link (link, NULL);
  struct stat st;

  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    return self;
  self->dev = st.st_dev;
  self->ino = st.st_ino;
  /* An unlinked file reads "/path (deleted)": nothing to open again */
  if (target != NULL && g_path_is_absolute (target) && !g_str_has_suffix (target, " (deleted)"))
    self->path = g_steal_pointer (&target);

  if (self->path != NULL
      && bt_document_path_parse_default (self->path, &self->document, &self->document_path))
    {
      g_autofree char *host = bt_document_read_host_path (fd);
      g_autoptr (GError) error = NULL;

      /* Else the caller asks the document portal (bt_fd_identity_set_host()) */
      if (host != NULL && !bt_fd_identity_set_host (self, host, &error))
        g_message ("Document %s: %s", self->document, error->message);
    }
  return self;
}

/*
 * bt_fd_identity_get_document:
 *
 * Returns: (nullable): the document id of a file of the document portal
 */
const char *
bt_fd_identity_get_document (BtFdIdentity *self)
{
  return self->document;
}

/* The path it is opened by again: for a document, the host file's */
const char *
bt_fd_identity_get_path (BtFdIdentity *self)
{
  return self->path;
}

/* The path after the document id: the file's name in the document */
const char *
bt_fd_identity_get_document_path (BtFdIdentity *self)
{
  return self->document_path;
}

/* A file of the document portal whose host file is not known yet */
gboolean
bt_fd_identity_needs_host (BtFdIdentity *self)
{
  return self->document != NULL && !self->host_known;
}

/*
 * bt_fd_identity_set_host:
 * @host_file: the host path of the document's file
 *
 * Records the host file behind a file of the document portal: it is what
 * is opened again after a restart.
 */
gboolean
bt_fd_identity_set_host (BtFdIdentity *self, const char *host_file, GError **error)
{
  struct stat st;
  int fd;

  g_return_val_if_fail (self->document != NULL, FALSE);

  fd = bt_open_no_symlinks (host_file, O_PATH, error);
  if (fd < 0)
    return FALSE;
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "The host file “%s” is not a regular file",
                   host_file);
      return FALSE;
    }
  close (fd);
  g_free (self->path);
  self->path = g_strdup (host_file);
  self->dev = st.st_dev;
  self->ino = st.st_ino;
  self->host_known = TRUE;
  return TRUE;
}

void
bt_fd_identity_free (BtFdIdentity *self)
{
  g_free (self->path);
  g_free (self->document);
  g_free (self->document_path);
  g_free (self);
}

/* Returns: (transfer floating) (nullable): the record, or %NULL when there
 * is nothing to open again */
GVariant *
bt_fd_identity_serialize (BtFdIdentity *self)
{
  GVariantBuilder b;

  if (self->path == NULL)
    return NULL;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "path", g_variant_new_string (self->path));
  g_variant_builder_add (&b, "{sv}", "dev", g_variant_new_uint64 (self->dev));
  g_variant_builder_add (&b, "{sv}", "ino", g_variant_new_uint64 (self->ino));
  if (self->document != NULL)
    {
      g_variant_builder_add (&b, "{sv}", "document", g_variant_new_string (self->document));
      g_variant_builder_add (&b, "{sv}", "document-path",
                             g_variant_new_string (self->document_path));
      g_variant_builder_add (&b, "{sv}", "host-known", g_variant_new_boolean (self->host_known));
    }
  return g_variant_builder_end (&b);
}

/* Returns: (transfer full): never %NULL; one that cannot be opened again
 * if @record makes no sense */
BtFdIdentity *
bt_fd_identity_new_from_record (GVariant *record)
{
  BtFdIdentity *self = g_new0 (BtFdIdentity, 1);
  const char *path, *document, *document_path;

  if (record != NULL && g_variant_is_of_type (record, G_VARIANT_TYPE_VARDICT)
      && g_variant_lookup (record, "path", "&s", &path) && g_path_is_absolute (path)
      && g_variant_lookup (record, "dev", "t", &self->dev)
      && g_variant_lookup (record, "ino", "t", &self->ino))
    self->path = g_strdup (path);
  if (self->path != NULL && g_variant_lookup (record, "document", "&s", &document)
      && g_variant_lookup (record, "document-path", "&s", &document_path))
    {
      self->document = g_strdup (document);
      self->document_path = g_strdup (document_path);
      g_variant_lookup (record, "host-known", "b", &self->host_known);
    }
  return self;
}

gboolean
bt_fd_identity_can_reopen (BtFdIdentity *self)
{
  return self->path != NULL;
}

static int
walk_no_symlinks (const char *path, int flags)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  int dfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  guint n = g_strv_length (parts);
  int fd = -1;

  for (guint i = 0; dfd >= 0 && i < n; i++)
    {
      int next;

      if (*parts[i] == '\0')
        continue;
      if (g_str_equal (parts[i], "..") || g_str_equal (parts[i], "."))
        break;
      if (i + 1 == n)
        {
          fd = openat (dfd, parts[i], flags | O_NOFOLLOW | O_CLOEXEC);
          break;
        }
      next = openat (dfd, parts[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      close (dfd);
      dfd = next;
    }
  if (dfd >= 0)
    close (dfd);
  if (fd < 0 && errno == 0)
    errno = ENOENT;
  return fd;
}

/*
 * bt_open_no_symlinks:
 *
 * Opens @path (absolute) without following a symbolic link in any of its
 * components.
 */
int
bt_open_no_symlinks (const char *path, int flags, GError **error)
{
  struct open_how how = { 0 };
  int fd;

  how.flags = (guint64) (flags | O_CLOEXEC);
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  fd = (int) syscall (SYS_openat2, AT_FDCWD, path, &how, sizeof how);
  if (fd < 0 && (errno == ENOSYS || errno == E2BIG))
    {
      errno = 0;
      fd = walk_no_symlinks (path, flags);
    }
  if (fd < 0)
    {
      int errsv = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "Cannot open “%s”: %s", path,
                   errsv == ELOOP ? "a symbolic link is in the way" : g_strerror (errsv));
    }
  return fd;
}

/*
 * bt_fd_identity_reopen:
 * @flags: O_RDONLY, O_RDWR, …
 *
 * Opens the file again, if it is still the same one.
 *
 * Returns: a new descriptor, or -1 with @error set (domain BT_ERROR)
 */
int
bt_fd_identity_reopen (BtFdIdentity *self, int flags, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  struct stat st;
  int fd;

  if (self->path == NULL)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_FAILED,
                           "The file descriptor was not a file that can be opened again (a "
                           "pipe, a socket or a deleted file) and was lost when the service "
                           "stopped");
      return -1;
    }
  fd = bt_open_no_symlinks (self->path, flags, &local_error);
  if (fd < 0)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_FAILED,
                   "The application's file cannot be opened again: %s", local_error->message);
      return -1;
    }
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || (guint64) st.st_dev != self->dev
      || (guint64) st.st_ino != self->ino)
    {
      close (fd);
      if (self->document != NULL)
        g_set_error (error, BT_ERROR, BT_ERROR_FAILED,
                     "“%s” (document %s of the document portal) is no longer the file the "
                     "application gave (moved, replaced or removed)",
                     self->path, self->document);
      else
        g_set_error (error, BT_ERROR, BT_ERROR_FAILED,
                     "“%s” is no longer the file the application gave (moved, replaced or "
                     "removed)",
                     self->path);
      return -1;
    }
  return fd;
}
