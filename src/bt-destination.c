/* bt-destination.c: where a download's bytes go
 *
 * A path destination is written to "<path>.bgtpart", created with O_EXCL
 * and opened without following symlinks, and renamed into place (without
 * replacing anything unless asked to) only once complete and flushed. A
 * caller's fd destination is written in place.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "bt-destination.h"
#include "bt-fd-identity.h"
#include "bt-error.h"

#define PART_SUFFIX ".bgtpart"

struct _BtDestination
{
  char *path;      /* NULL for a caller's fd */
  char *dir;       /* parent directory of path */
  char *name;      /* basename of path */
  char *part_name; /* name + PART_SUFFIX */
  gboolean overwrite;
  int fd;                 /* open while running; always for a caller's fd */
  BtFdIdentity *identity; /* a caller's fd: what to open again after a restart */
  /* The partial file as created: renamed into place it is the same file,
   * which tells after a crash that the file at the destination is ours */
  guint64 part_dev, part_ino;
  gboolean part_known; /* …and the store knows it (from creation, or read back) */
  BtFlusher *flusher;  /* every flush of the data, from the first */
};

/* @known: whether the store will know it when the transfer's pending
 * record is committed (the partial file was created with it) */
static void
note_part (BtDestination *self, int fd, gboolean known)
{
  struct stat st;

  if (fstat (fd, &st) == 0)
    {
      self->part_dev = (guint64) st.st_dev;
      self->part_ino = (guint64) st.st_ino;
      self->part_known = known;
    }
}

/* Whether the store knows the partial file's identity once the
 * transfer's records saved so far are committed */
gboolean
bt_destination_part_identity_recorded (BtDestination *self)
{
  return self->part_known;
}

/*
 * bt_destination_get_part_identity:
 *
 * Returns: whether the partial file's identity (device and inode, as it
 *   was created) is known, for the store
 */
gboolean
bt_destination_get_part_identity (BtDestination *self, guint64 *out_dev, guint64 *out_ino)
{
  *out_dev = self->part_dev;
  *out_ino = self->part_ino;
  return self->part_ino != 0;
}

/* The partial file's identity, read back from the store */
void
bt_destination_set_part_identity (BtDestination *self, guint64 dev, guint64 ino)
{
  self->part_dev = dev;
  self->part_ino = ino;
  self->part_known = ino != 0;
}

static void
set_io_error (GError **error, int errsv, const char *what, const char *path)
{
  /* G_IO_ERROR codes keep ENOSPC (disk-full) and EACCES apart for callers */
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s “%s”: %s", what, path,
               g_strerror (errsv));
}

static int
open_dir (const char *dir, GError **error)
{
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (dfd < 0)
    {
      int errsv = errno;

      if (errsv == ENOENT || errsv == ENOTDIR)
        g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                     "The destination directory “%s” does not exist", dir);
      else
        g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                     "Cannot open the destination directory “%s”: %s", dir, g_strerror (errsv));
    }
  return dfd;
}

/* Creates the partial file (any thread): the destination must not be a
 * directory, nor exist unless it may be replaced, and no other transfer
 * may be writing to it */
static gboolean
create_part (BtDestination *self, GError **error)
{
  g_autofree char *part_path = NULL;
  struct stat st;
  int dfd, fd;

  dfd = open_dir (self->dir, error);
  if (dfd < 0)
    return FALSE;

  if (fstatat (dfd, self->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      if (S_ISDIR (st.st_mode))
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "The destination “%s” is a directory", self->path);
          close (dfd);
          return FALSE;
        }
      if (!self->overwrite)
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "The destination “%s” already exists", self->path);
          close (dfd);
          return FALSE;
        }
    }

  fd = openat (dfd, self->part_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int errsv = errno;

      part_path = g_build_filename (self->dir, self->part_name, NULL);
      if (errsv == EEXIST)
        g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                     "“%s” exists: another transfer is writing to this destination", part_path);
      else
        g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Cannot create “%s”: %s",
                     part_path, g_strerror (errsv));
      close (dfd);
      return FALSE;
    }

  note_part (self, fd, TRUE);
  close (fd);
  close (dfd);
  return TRUE;
}

/* The destination @path, its partial file created at once */
BtDestination *
bt_destination_new_for_path (const char *path, gboolean overwrite, GError **error)
{
  g_autoptr (BtDestination) self = bt_destination_new_recovered (path, overwrite);

  return create_part (self, error) ? g_steal_pointer (&self) : NULL;
}

static void
create_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (create_part (task_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/*
 * bt_destination_create_async:
 *
 * Creates the partial file of a new destination, if it has one not
 * created yet, in a worker thread: a thousand creations at once would
 * otherwise hold the main loop in the file system's inode allocator.
 * @self must live until the callback.
 */
void
bt_destination_create_async (BtDestination *self, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, user_data);

  g_task_set_source_tag (task, bt_destination_create_async);
  if (self->path == NULL || self->part_ino != 0)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_task_set_task_data (task, self, NULL);
  g_task_run_in_thread (task, create_thread);
}

gboolean
bt_destination_create_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, bt_destination_create_async), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

BtDestination *
bt_destination_new_for_fd (int fd, GError **error)
{
  g_autoptr (BtDestination) self = g_new0 (BtDestination, 1);
  struct stat st;
  int flags;

  self->fd = -1;
  if (fstat (fd, &st) < 0 || (flags = fcntl (fd, F_GETFL)) < 0)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Invalid destination fd: %s",
                   g_strerror (errno));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                           "The destination fd is not a regular file");
      return NULL;
    }
  if ((flags & O_ACCMODE) != O_WRONLY && (flags & O_ACCMODE) != O_RDWR)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                           "The destination fd is not open for writing");
      return NULL;
    }
  if (flags & O_APPEND)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                           "The destination fd must not be opened with O_APPEND");
      return NULL;
    }

  self->fd = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  if (self->fd < 0)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "Cannot duplicate the destination fd: %s",
                   g_strerror (errno));
      return NULL;
    }
  self->identity = bt_fd_identity_new (self->fd);
  return g_steal_pointer (&self);
}

/*
 * bt_destination_new_for_fd_record:
 * @record: what bt_destination_serialize_fd() gave
 *
 * A caller's fd destination after a restart of the service: the same
 * file opened again (never through a symbolic link), or an error.
 */
BtDestination *
bt_destination_new_for_fd_record (GVariant *record, GError **error)
{
  g_autoptr (BtDestination) self = g_new0 (BtDestination, 1);

  self->identity = bt_fd_identity_new_from_record (record);
  self->fd = bt_fd_identity_reopen (self->identity, O_RDWR, error);
  if (self->fd < 0)
    return NULL;
  return g_steal_pointer (&self);
}

/* Returns: (transfer floating) (nullable): what identifies a caller's fd
 * destination, for the store; %NULL for a path or an fd that cannot be
 * opened again */
GVariant *
bt_destination_serialize_fd (BtDestination *self)
{
  return self->identity != NULL ? bt_fd_identity_serialize (self->identity) : NULL;
}

/*
 * bt_destination_get_fd_identity:
 *
 * Returns: (nullable) (transfer none): what the caller's fd is, for a
 * destination given as an fd
 */
BtFdIdentity *
bt_destination_get_fd_identity (BtDestination *self)
{
  return self->identity;
}

/* The caller's fd of a transfer recovered from the store: it is gone */
BtDestination *
bt_destination_new_detached (void)
{
  BtDestination *self = g_new0 (BtDestination, 1);

  self->fd = -1;
  return self;
}

/* A destination whose partial file is not created here: read back from
 * the state store, or a new transfer's (bt_destination_create_async()) */
BtDestination *
bt_destination_new_recovered (const char *path, gboolean overwrite)
{
  BtDestination *self = g_new0 (BtDestination, 1);

  self->fd = -1;
  self->path = g_strdup (path);
  self->dir = g_path_get_dirname (path);
  self->name = g_path_get_basename (path);
  self->part_name = g_strconcat (self->name, PART_SUFFIX, NULL);
  self->overwrite = overwrite;
  return self;
}

gboolean
bt_destination_get_overwrite (BtDestination *self)
{
  return self->overwrite;
}

/*
 * bt_destination_recover:
 * @checkpoint: bytes known to be in the partial file
 * @same_boot: whether the machine has not restarted since they were
 *
 * Re-validates the partial file after a restart of the service. Within
 * the same boot, everything the previous instance wrote is in the file,
 * flushed or not (the page cache outlives a process, even one killed), so
 * the file's length counts. After a reboot only the flushed @checkpoint
 * is known good: what lies beyond it is cut off. A missing or shorter file
 * means starting over.
 *
 * Returns: the number of bytes to resume from
 */
guint64
bt_destination_recover (BtDestination *self, guint64 checkpoint, gboolean same_boot)
{
  g_autoptr (GError) error = NULL;
  struct stat st;

  if (self->path == NULL && self->fd >= 0)
    {
      /* A caller's file, opened again: its length counts as a partial's */
      if (fstat (self->fd, &st) < 0 || (guint64) st.st_size < checkpoint)
        checkpoint = 0;
      else if (same_boot)
        checkpoint = (guint64) st.st_size;
      if (ftruncate (self->fd, (off_t) checkpoint) < 0)
        checkpoint = 0;
      return checkpoint;
    }
  if (self->path == NULL)
    return 0;
  if (checkpoint == 0 && !same_boot)
    return 0; /* nothing known to keep; starting writes from zero anyway */
  {
    g_autofree char *part_path = g_build_filename (self->dir, self->part_name, NULL);
    struct stat lst;

    /* Never started, or gone: nothing to recover, and nothing to create */
    if (lstat (part_path, &lst) < 0)
      return 0;
  }
  if (bt_destination_open (self, &error) < 0)
    {
      g_debug ("Cannot reopen the partial file of %s: %s", self->path, error->message);
      return 0;
    }
  if (fstat (self->fd, &st) < 0 || (guint64) st.st_size < checkpoint)
    checkpoint = 0;
  else if (same_boot)
    checkpoint = (guint64) st.st_size;
  if (ftruncate (self->fd, (off_t) checkpoint) < 0)
    checkpoint = 0;
  bt_destination_close (self);
  return checkpoint;
}

/*
 * bt_destination_get_size:
 * @out_size: (out): the length of the partial file (of the caller's file)
 *
 * For a segmented download, whose file has holes: nothing is cut, the
 * ranges recorded say what is data.
 *
 * Returns: %FALSE if there is no partial file
 */
gboolean
bt_destination_get_size (BtDestination *self, guint64 *out_size)
{
  struct stat st;
  int dfd, r;

  if (self->path == NULL)
    {
      if (self->fd < 0 || fstat (self->fd, &st) < 0)
        return FALSE;
      *out_size = (guint64) st.st_size;
      return TRUE;
    }
  dfd = open_dir (self->dir, NULL);
  if (dfd < 0)
    return FALSE;
  r = fstatat (dfd, self->part_name, &st, AT_SYMLINK_NOFOLLOW);
  close (dfd);
  if (r < 0 || !S_ISREG (st.st_mode))
    return FALSE;
  *out_size = (guint64) st.st_size;
  return TRUE;
}

/* Whether @st is the data of this destination: a regular file of @size
 * bytes (G_MAXUINT64: unknown), the very partial file we created when its
 * identity is known */
static gboolean
is_ours (BtDestination *self, const struct stat *st, guint64 size)
{
  return S_ISREG (st->st_mode) && (size == G_MAXUINT64 || (guint64) st->st_size == size)
         && (self->part_ino == 0
             || ((guint64) st->st_dev == self->part_dev && (guint64) st->st_ino == self->part_ino));
}

/*
 * bt_destination_was_committed:
 * @size: the size the file must have, or G_MAXUINT64 if unknown
 *
 * After a crash between the rename into place and the record of its
 * success: whether the partial file already became the destination (it is
 * gone and the destination is a regular file of @size, or both names are
 * still the same file after a link() fallback, which this finishes). When
 * the partial file's identity is known the destination must be that very
 * file: a file someone else put there is never taken for ours.
 */
gboolean
bt_destination_was_committed (BtDestination *self, guint64 size)
{
  struct stat final, part;
  gboolean committed = FALSE;
  int dfd;

  if (self->path == NULL)
    return FALSE;
  dfd = open_dir (self->dir, NULL);
  if (dfd < 0)
    return FALSE;
  if (fstatat (dfd, self->name, &final, AT_SYMLINK_NOFOLLOW) == 0 && is_ours (self, &final, size))
    {
      if (fstatat (dfd, self->part_name, &part, AT_SYMLINK_NOFOLLOW) < 0)
        committed = errno == ENOENT;
      else if (part.st_dev == final.st_dev && part.st_ino == final.st_ino)
        committed = unlinkat (dfd, self->part_name, 0) == 0;
    }
  close (dfd);
  return committed;
}

/*
 * bt_destination_is_in_place:
 * @size: the size of the data, or G_MAXUINT64 if unknown
 *
 * After a crash, for a download recorded as completed while its data was
 * being made durable (bt-commit.c): whether the data is under its final
 * name, the very partial file we created (when its identity is known).
 */
gboolean
bt_destination_is_in_place (BtDestination *self, guint64 size)
{
  struct stat st;
  gboolean in_place;
  int dfd;

  if (self->path == NULL || bt_destination_was_committed (self, size))
    return TRUE;
  dfd = open_dir (self->dir, NULL);
  if (dfd < 0)
    return FALSE;
  in_place = fstatat (dfd, self->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && is_ours (self, &st, size);
  close (dfd);
  return in_place;
}

/* The kernel's id of this boot: what the page cache promises holds only
 * within it */
const char *
bt_boot_id (void)
{
  static gsize boot_id = 0;

  if (g_once_init_enter (&boot_id))
    {
      const char *simulated = g_getenv ("BGTRANSFERD_SIMULATE_BOOT_ID");
      char *contents = NULL;

      /* The test suites simulate a reboot (a power cut) with another id */
      if (simulated != NULL && *simulated != '\0')
        contents = g_strdup (simulated);
      else if (!g_file_get_contents ("/proc/sys/kernel/random/boot_id", &contents, NULL, NULL))
        contents = g_strdup ("unknown");
      g_once_init_leave (&boot_id, (gsize) g_strstrip (contents));
    }
  return (const char *) boot_id;
}

/* Returns: whether @errsv, a flush's result, is success; else sets @error */
static gboolean
check_flush (BtDestination *self, int errsv, GError **error)
{
  if (errsv == 0)
    return TRUE;
  set_io_error (error, errsv, "Cannot flush", self->path ? self->path : "destination fd");
  return FALSE;
}

/* Flushes the open fd's data, setting it to @size first unless it is
 * %BT_FLUSHER_ANY_SIZE */
static gboolean
flush_open (BtDestination *self, guint64 size, GError **error)
{
  return check_flush (self, bt_flusher_flush (bt_destination_get_flusher (self), self->fd, size),
                      error);
}

/* The flushes of the data, in any thread (bt-flusher.c) */
BtFlusher *
bt_destination_get_flusher (BtDestination *self)
{
  if (self->flusher == NULL)
    self->flusher = bt_flusher_new ();
  return self->flusher;
}

/* Flushes the data written so far to the disk */
gboolean
bt_destination_sync (BtDestination *self, GError **error)
{
  gboolean was_open = self->fd >= 0;
  gboolean ok;

  if (bt_destination_open (self, error) < 0)
    return FALSE;
  ok = flush_open (self, BT_FLUSHER_ANY_SIZE, error);
  if (!was_open)
    bt_destination_close (self);
  return ok;
}

/* Returns: a duplicate of the open fd, or -1 */
int
bt_destination_dup_fd (BtDestination *self)
{
  if (self->fd < 0)
    return -1;
  return fcntl (self->fd, F_DUPFD_CLOEXEC, 3);
}

void
bt_destination_free (BtDestination *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->flusher, bt_flusher_unref);
  if (self->fd >= 0)
    close (self->fd);
  g_free (self->path);
  g_free (self->dir);
  g_free (self->name);
  g_free (self->part_name);
  g_clear_pointer (&self->identity, bt_fd_identity_free);
  g_free (self);
}

const char *
bt_destination_get_path (BtDestination *self)
{
  return self->path;
}

/* Returns the fd to write to, opening the partial file if needed. */
int
bt_destination_open (BtDestination *self, GError **error)
{
  int dfd;

  if (self->fd >= 0)
    return self->fd;
  if (self->path == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                           "The destination file descriptor is gone");
      return -1;
    }

  dfd = open_dir (self->dir, error);
  if (dfd < 0)
    return -1;
  self->fd = openat (dfd, self->part_name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (self->fd < 0 && errno == ENOENT)
    {
      /* Deleted behind our back: start over with a fresh one */
      self->fd = openat (dfd, self->part_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         0644);
      if (self->fd >= 0)
        note_part (self, self->fd, FALSE);
    }
  else if (self->fd >= 0 && self->part_ino == 0)
    note_part (self, self->fd, FALSE); /* a record older than identities */
  if (self->fd < 0)
    {
      int errsv = errno;
      g_autofree char *part_path = g_build_filename (self->dir, self->part_name, NULL);

      set_io_error (error, errsv, "Cannot open", part_path);
    }
  close (dfd);
  return self->fd;
}

void
bt_destination_close (BtDestination *self)
{
  /* A caller's fd stays open for the transfer's life */
  if (self->path != NULL && self->fd >= 0)
    {
      if (self->flusher != NULL)
        bt_flusher_fd_closed (self->flusher);
      close (self->fd);
      self->fd = -1;
    }
}

gboolean
bt_destination_truncate (BtDestination *self, guint64 size, GError **error)
{
  if (bt_destination_open (self, error) < 0)
    return FALSE;
  if (ftruncate (self->fd, (off_t) size) < 0)
    {
      set_io_error (error, errno, "Cannot truncate", self->path ? self->path : "destination fd");
      return FALSE;
    }
  return TRUE;
}

/* Whether the data not yet flushed has grown beyond the write-back
 * window: the download should wait for the disk before it reads more */
gboolean
bt_destination_write_back_lags (BtDestination *self)
{
  return self->flusher != NULL && bt_flusher_lags (self->flusher);
}

gboolean
bt_destination_write (BtDestination *self, guint64 offset, const void *data, gsize len,
                      GError **error)
{
  const char *p = data;
  guint64 start = offset;
  BtFlusher *flusher = bt_destination_get_flusher (self);

  /* What a failed flush lost would not be written again */
  if (!check_flush (self, bt_flusher_get_failure (flusher), error))
    return FALSE;
  while (len > 0)
    {
      ssize_t n = pwrite (self->fd, p, len, (off_t) offset);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          set_io_error (error, errno, "Cannot write to",
                        self->path ? self->path : "destination fd");
          return FALSE;
        }
      p += n;
      len -= (gsize) n;
      offset += (guint64) n;
    }
  bt_flusher_note_written (flusher, self->fd, (gsize) (offset - start));
  return TRUE;
}

/*
 * bt_destination_rename:
 *
 * Moves the flushed partial file into place, without replacing anything
 * unless asked to. The rename is durable only once the directory is
 * flushed (bt_destination_sync_dir()). A caller's fd has nothing to move.
 */
gboolean
bt_destination_rename (BtDestination *self, GError **error)
{
  int dfd;
  int r;

  if (self->path == NULL)
    return TRUE;
  dfd = open_dir (self->dir, error);
  if (dfd < 0)
    return FALSE;

#ifdef HAVE_RENAMEAT2
  r = renameat2 (dfd, self->part_name, dfd, self->name, self->overwrite ? 0 : RENAME_NOREPLACE);
  if (r < 0 && errno == EINVAL && !self->overwrite)
    {
      /* A file system without RENAME_NOREPLACE: link() does not replace */
      r = linkat (dfd, self->part_name, dfd, self->name, 0);
      if (r == 0)
        unlinkat (dfd, self->part_name, 0);
    }
#else
  if (self->overwrite)
    r = renameat (dfd, self->part_name, dfd, self->name);
  else if ((r = linkat (dfd, self->part_name, dfd, self->name, 0)) == 0)
    unlinkat (dfd, self->part_name, 0);
#endif
  if (r < 0)
    {
      int errsv = errno;

      if (errsv == EEXIST)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                     "The destination “%s” was created by someone else meanwhile", self->path);
      else
        set_io_error (error, errsv, "Cannot move the download into place at", self->path);
      close (dfd);
      return FALSE;
    }
  close (dfd);
  return TRUE;
}

/* Returns: (nullable): the directory of a path destination */
const char *
bt_destination_get_dir (BtDestination *self)
{
  return self->dir;
}

/*
 * bt_destination_sync_dir:
 * @dir: a destination's directory (any thread)
 *
 * Makes the renames into @dir durable: one flush for every file renamed
 * into it so far.
 */
gboolean
bt_destination_sync_dir (const char *dir, GError **error)
{
  int dfd = open_dir (dir, error);
  gboolean ok = TRUE;

  if (dfd < 0)
    return FALSE;
  if (fsync (dfd) < 0)
    {
      set_io_error (error, errno, "Cannot flush the directory", dir);
      ok = FALSE;
    }
  close (dfd);
  return ok;
}

/* Flushes the data and moves the file into place; on return the file is
 * durable under its final name (data, rename and directory synced). The
 * service commits many at once instead (bt-commit.c); this is the same,
 * for one file. */
gboolean
bt_destination_commit (BtDestination *self, guint64 size, GError **error)
{
  if (bt_destination_open (self, error) < 0 || !flush_open (self, size, error))
    return FALSE;
  if (self->path == NULL)
    return TRUE;
  bt_destination_close (self);
  return bt_destination_rename (self, error) && bt_destination_sync_dir (self->dir, error);
}

/* Removes the partial data (cancel, permanent failure) */
void
bt_destination_discard (BtDestination *self)
{
  int dfd;

  if (self->path == NULL)
    {
      if (self->fd >= 0 && ftruncate (self->fd, 0) < 0)
        g_debug ("Cannot truncate the destination fd: %s", g_strerror (errno));
      return;
    }

  bt_destination_close (self);
  dfd = open (self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return;
  if (unlinkat (dfd, self->part_name, 0) < 0 && errno != ENOENT)
    g_warning ("Cannot remove the partial file of “%s”: %s", self->path, g_strerror (errno));
  close (dfd);
}

/* Removes the finished file itself (a reply the service kept) */
void
bt_destination_remove_file (BtDestination *self)
{
  int dfd;

  bt_destination_discard (self);
  if (self->path == NULL)
    return;
  dfd = open (self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return;
  unlinkat (dfd, self->name, 0);
  close (dfd);
}

int
bt_destination_open_result (BtDestination *self, gboolean completed, GError **error)
{
  int dfd, fd;

  if (self->path == NULL && self->fd < 0)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_NOT_FOUND,
                           "The destination file descriptor is gone");
      return -1;
    }
  if (self->path == NULL)
    {
      g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d", self->fd);

      /* Reopen read-only: never hand out our writable descriptor */
      fd = open (proc, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "Cannot reopen the destination: %s",
                     g_strerror (errno));
      return fd;
    }

  dfd = open_dir (self->dir, error);
  if (dfd < 0)
    return -1;
  fd = openat (dfd, completed ? self->name : self->part_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    g_set_error (error, BT_ERROR, BT_ERROR_NOT_FOUND, "Cannot open the data of “%s”: %s",
                 self->path, g_strerror (errno));
  close (dfd);
  return fd;
}

/*
 * bt_destination_ensure_partial:
 *
 * A download not started since the service was may have no partial file
 * yet: it is created (empty), so that a reader may open it before any
 * data arrives (OpenResult at any time, random access).
 */
void
bt_destination_ensure_partial (BtDestination *self)
{
  g_autoptr (GError) error = NULL;

  if (self->path == NULL || self->fd >= 0)
    return;
  if (bt_destination_open (self, &error) >= 0)
    bt_destination_close (self);
  else
    g_debug ("Cannot create the partial file of %s: %s", self->path, error->message);
}

/* Whether the destination can be found again after a restart of the
 * service: a path, or a caller's file that can be opened again */
gboolean
bt_destination_can_reopen (BtDestination *self)
{
  return self->path != NULL
         || (self->identity != NULL && bt_fd_identity_can_reopen (self->identity));
}
