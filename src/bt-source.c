/* bt-source.c: what an upload sends: a file, a stream, or multipart parts
 *
 * Bodies are streamed: a multipart body is a chain of small in-memory
 * pieces (boundaries, part headers, values) and file streams, read one
 * after the other, so that memory stays flat whatever the sizes. The size
 * and modification time of every file are recorded at creation; a file
 * that changes under an upload makes it fail instead of sending a mix.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>

#include "bt-concat-stream.h"
#include "bt-error.h"
#include "bt-fd-identity.h"
#include "bt-source.h"
#include "bt-validate.h"

#define MAX_PARTS 256
#define MAX_VALUE_SIZE (1024 * 1024)

typedef enum
{
  PIECE_BYTES,
  PIECE_FILE,
} PieceKind;

typedef struct
{
  PieceKind kind;
  GBytes *bytes;          /* PIECE_BYTES */
  char *path;             /* PIECE_FILE: a path, or NULL for an fd */
  int fd;                 /* PIECE_FILE from a caller's fd, -1 otherwise */
  BtFdIdentity *identity; /* a caller's fd: what to open again after a restart */
  guint64 size;           /* G_MAXUINT64: a stream of unknown length */
  gint64 mtime;           /* µs, to detect a change */
  /* What the record keeps to rebuild a multipart body */
  GVariant *part;
} Piece;

struct _BtSource
{
  GPtrArray *pieces;
  char *content_type; /* multipart/form-data; boundary=… or NULL */
  gboolean multipart;
};

static void
piece_free (Piece *piece)
{
  g_clear_pointer (&piece->bytes, g_bytes_unref);
  g_free (piece->path);
  if (piece->fd >= 0)
    close (piece->fd);
  g_clear_pointer (&piece->identity, bt_fd_identity_free);
  g_clear_pointer (&piece->part, g_variant_unref);
  g_free (piece);
}

static Piece *
piece_new_bytes (GBytes *bytes)
{
  Piece *piece = g_new0 (Piece, 1);

  piece->kind = PIECE_BYTES;
  piece->bytes = bytes;
  piece->fd = -1;
  piece->size = g_bytes_get_size (bytes);
  return piece;
}

static Piece *
piece_new_string (const char *str)
{
  return piece_new_bytes (g_bytes_new (str, strlen (str)));
}

static BtSource *
source_new (void)
{
  BtSource *self = g_new0 (BtSource, 1);

  self->pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) piece_free);
  return self;
}

void
bt_source_free (BtSource *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->pieces);
  g_free (self->content_type);
  g_free (self);
}

static gboolean
stat_file_piece (Piece *piece, struct stat *st, GError **error)
{
  int r = piece->path != NULL ? stat (piece->path, st) : fstat (piece->fd, st);

  if (r < 0)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Cannot read the source “%s”: %s",
                   piece->path != NULL ? piece->path : "fd", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

static Piece *
piece_new_file (const char *path, int fd, GError **error)
{
  Piece *piece = g_new0 (Piece, 1);
  struct stat st;

  piece->kind = PIECE_FILE;
  piece->path = g_strdup (path);
  piece->fd = fd;
  if (fd >= 0)
    piece->identity = bt_fd_identity_new (fd);

  if (path != NULL)
    {
      /* Readable now, and a regular file: a clear error at creation */
      int test_fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

      if (test_fd < 0)
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "Cannot read the source “%s”: %s", path, g_strerror (errno));
          piece_free (piece);
          return NULL;
        }
      close (test_fd);
    }
  if (!stat_file_piece (piece, &st, error))
    {
      piece_free (piece);
      return NULL;
    }
  if (S_ISREG (st.st_mode))
    {
      piece->size = (guint64) st.st_size;
      piece->mtime = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
    }
  else if (path == NULL && (S_ISFIFO (st.st_mode) || S_ISSOCK (st.st_mode)))
    piece->size = BT_SIZE_UNKNOWN; /* a stream: sent chunked, cannot restart */
  else
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                   "The source “%s” is not a regular file", path != NULL ? path : "fd");
      piece_free (piece);
      return NULL;
    }
  return piece;
}

static int
check_read_fd (int fd, GError **error)
{
  int flags = fcntl (fd, F_GETFL);

  if (flags < 0 || ((flags & O_ACCMODE) != O_RDONLY && (flags & O_ACCMODE) != O_RDWR))
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                           "The source fd is not open for reading");
      return -1;
    }
  return fcntl (fd, F_DUPFD_CLOEXEC, 3);
}

BtSource *
bt_source_new_for_path (const char *path, GError **error)
{
  g_autoptr (BtSource) self = source_new ();
  Piece *piece;

  if (!g_path_is_absolute (path))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                   "The source “%s” is not an absolute path", path);
      return NULL;
    }
  piece = piece_new_file (path, -1, error);
  if (piece == NULL)
    return NULL;
  g_ptr_array_add (self->pieces, piece);
  return g_steal_pointer (&self);
}

BtSource *
bt_source_new_for_fd (int fd, GError **error)
{
  g_autoptr (BtSource) self = source_new ();
  int own_fd = check_read_fd (fd, error);
  Piece *piece;

  if (own_fd < 0)
    return NULL;
  piece = piece_new_file (NULL, own_fd, error);
  if (piece == NULL)
    return NULL;
  g_ptr_array_add (self->pieces, piece);
  return g_steal_pointer (&self);
}

/* HTML's rule for names in form-data: quote, CR and LF percent-encoded */
static char *
escape_quoted (const char *str)
{
  GString *out = g_string_new (NULL);

  for (const char *p = str; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append (out, "%22");
      else if (*p == '\r')
        g_string_append (out, "%0D");
      else if (*p == '\n')
        g_string_append (out, "%0A");
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

static char *
new_boundary (void)
{
  guint8 bytes[16];
  GString *boundary = g_string_new ("bgtransfer-");

  if (getrandom (bytes, sizeof bytes, 0) != sizeof bytes)
    for (gsize i = 0; i < sizeof bytes; i++)
      bytes[i] = (guint8) g_random_int_range (0, 256);
  for (gsize i = 0; i < sizeof bytes; i++)
    g_string_append_printf (boundary, "%02x", bytes[i]);
  return g_string_free (boundary, FALSE);
}

static gboolean
add_part (BtSource *self, const char *boundary, GVariant *part, GUnixFDList *fd_list,
          gboolean sandboxed, GError **error)
{
  g_autoptr (GString) head = g_string_new (NULL);
  g_autoptr (GVariant) headers = NULL;
  g_autoptr (GVariant) value = NULL;
  g_autofree char *name_escaped = NULL;
  const char *name = NULL, *filename = NULL, *content_type = NULL, *file = NULL;
  gint32 fd_index = -1;
  GVariantIter iter;
  const char *key;
  GVariant *v;
  Piece *piece = NULL;
  int sources = 0;

  g_variant_iter_init (&iter, part);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &v))
    {
      G_GNUC_UNUSED g_autoptr (GVariant) owned = v;
      const char *type = NULL;

      if (g_str_equal (key, "name") || g_str_equal (key, "filename")
          || g_str_equal (key, "content-type") || g_str_equal (key, "file"))
        type = "s";
      else if (g_str_equal (key, "headers"))
        type = "a(ss)";
      else if (g_str_equal (key, "fd"))
        type = "h";
      else if (g_str_equal (key, "value"))
        type = g_variant_is_of_type (v, G_VARIANT_TYPE_BYTESTRING) ? "ay" : "s";
      if (type == NULL || !g_variant_is_of_type (v, G_VARIANT_TYPE (type)))
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "Invalid part key “%s” or type “%s”", key, g_variant_get_type_string (v));
          return FALSE;
        }
    }

  if (!g_variant_lookup (part, "name", "&s", &name) || *name == '\0')
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Every part needs a name");
      return FALSE;
    }
  g_variant_lookup (part, "filename", "&s", &filename);
  g_variant_lookup (part, "content-type", "&s", &content_type);
  sources += g_variant_lookup (part, "file", "&s", &file);
  sources += g_variant_lookup (part, "fd", "h", &fd_index);
  value = g_variant_lookup_value (part, "value", NULL);
  sources += value != NULL;
  if (sources != 1)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                   "Part “%s” needs exactly one of file, fd and value", name);
      return FALSE;
    }
  if (content_type != NULL && !bt_validate_header ("Content-Type", content_type, error))
    return FALSE;

  name_escaped = escape_quoted (name);
  g_string_append_printf (head, "--%s\r\nContent-Disposition: form-data; name=\"%s\"", boundary,
                          name_escaped);
  if (filename != NULL)
    {
      g_autofree char *escaped = escape_quoted (filename);
      g_string_append_printf (head, "; filename=\"%s\"", escaped);
    }
  g_string_append (head, "\r\n");
  if (content_type != NULL)
    g_string_append_printf (head, "Content-Type: %s\r\n", content_type);
  headers = g_variant_lookup_value (part, "headers", G_VARIANT_TYPE ("a(ss)"));
  if (headers != NULL)
    {
      const char *hname, *hvalue;

      g_variant_iter_init (&iter, headers);
      while (g_variant_iter_next (&iter, "(&s&s)", &hname, &hvalue))
        {
          if (!bt_validate_header (hname, hvalue, error))
            return FALSE;
          if (g_ascii_strcasecmp (hname, "Content-Disposition") == 0)
            {
              g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                                   "A part's Content-Disposition is built from its name");
              return FALSE;
            }
          g_string_append_printf (head, "%s: %s\r\n", hname, hvalue);
        }
    }
  g_string_append (head, "\r\n");

  if (file != NULL)
    {
      if (sandboxed)
        {
          g_set_error_literal (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                               "A sandboxed application names files only by descriptor");
          return FALSE;
        }
      if (!g_path_is_absolute (file))
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "The file of part “%s” is not an absolute path", name);
          return FALSE;
        }
      piece = piece_new_file (file, -1, error);
    }
  else if (fd_index >= 0 || g_variant_lookup (part, "fd", "h", &fd_index))
    {
      int fd, own_fd;

      if (fd_list == NULL || fd_index < 0 || fd_index >= g_unix_fd_list_get_length (fd_list)
          || (fd = g_unix_fd_list_get (fd_list, fd_index, NULL)) < 0)
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "The fd of part “%s” does not name a passed fd", name);
          return FALSE;
        }
      own_fd = check_read_fd (fd, error);
      close (fd);
      if (own_fd < 0)
        return FALSE;
      piece = piece_new_file (NULL, own_fd, error);
    }
  else
    {
      gsize size = g_variant_get_size (value);

      if (size > MAX_VALUE_SIZE)
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "The value of part “%s” is larger than 1 MiB: send it as a file", name);
          return FALSE;
        }
      if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        piece = piece_new_string (g_variant_get_string (value, NULL));
      else
        piece = piece_new_bytes (g_variant_get_data_as_bytes (value));
    }
  if (piece == NULL)
    return FALSE;
  if (piece->size == BT_SIZE_UNKNOWN)
    {
      piece_free (piece);
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                   "The data of part “%s” must be a regular file", name);
      return FALSE;
    }

  g_ptr_array_add (self->pieces, piece_new_string (head->str));
  piece->part = g_variant_ref_sink (part);
  g_ptr_array_add (self->pieces, piece);
  g_ptr_array_add (self->pieces, piece_new_string ("\r\n"));
  return TRUE;
}

BtSource *
bt_source_new_for_parts (GVariant *parts, GUnixFDList *fd_list, gboolean sandboxed, GError **error)
{
  g_autoptr (BtSource) self = source_new ();
  g_autofree char *boundary = new_boundary ();
  g_autofree char *tail = NULL;
  GVariantIter iter;
  GVariant *part;

  if (g_variant_n_children (parts) == 0 || g_variant_n_children (parts) > MAX_PARTS)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Give between 1 and %d parts",
                   MAX_PARTS);
      return NULL;
    }

  self->multipart = TRUE;
  self->content_type = g_strdup_printf ("multipart/form-data; boundary=%s", boundary);
  g_variant_iter_init (&iter, parts);
  while ((part = g_variant_iter_next_value (&iter)) != NULL)
    {
      G_GNUC_UNUSED g_autoptr (GVariant) owned = part;

      if (!add_part (self, boundary, part, fd_list, sandboxed, error))
        return NULL;
    }
  tail = g_strdup_printf ("--%s--\r\n", boundary);
  g_ptr_array_add (self->pieces, piece_new_string (tail));
  return g_steal_pointer (&self);
}

/* The record keeps paths and values; a caller's fd does not survive */
GVariant *
bt_source_serialize (BtSource *self)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (!self->multipart)
    {
      Piece *piece = g_ptr_array_index (self->pieces, 0);

      GVariant *identity
          = piece->identity != NULL ? bt_fd_identity_serialize (piece->identity) : NULL;

      if (piece->path != NULL)
        g_variant_builder_add (&b, "{sv}", "path", g_variant_new_string (piece->path));
      if (identity != NULL)
        g_variant_builder_add (&b, "{sv}", "fd", identity);
      g_variant_builder_add (&b, "{sv}", "size", g_variant_new_uint64 (piece->size));
      g_variant_builder_add (&b, "{sv}", "mtime", g_variant_new_int64 (piece->mtime));
      return g_variant_builder_end (&b);
    }

  /* Multipart: the pieces themselves, so that the same boundary is kept */
  {
    GVariantBuilder pieces;

    g_variant_builder_init (&pieces, G_VARIANT_TYPE ("aa{sv}"));
    for (guint i = 0; i < self->pieces->len; i++)
      {
        Piece *piece = g_ptr_array_index (self->pieces, i);
        GVariantBuilder p;

        g_variant_builder_init (&p, G_VARIANT_TYPE_VARDICT);
        if (piece->kind == PIECE_BYTES)
          g_variant_builder_add (
              &p, "{sv}", "bytes",
              g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, piece->bytes, TRUE));
        else
          {
            GVariant *identity
                = piece->identity != NULL ? bt_fd_identity_serialize (piece->identity) : NULL;

            g_variant_builder_add (&p, "{sv}", "path",
                                   g_variant_new_string (piece->path != NULL ? piece->path : ""));
            if (identity != NULL)
              g_variant_builder_add (&p, "{sv}", "fd", identity);
            g_variant_builder_add (&p, "{sv}", "size", g_variant_new_uint64 (piece->size));
            g_variant_builder_add (&p, "{sv}", "mtime", g_variant_new_int64 (piece->mtime));
          }
        g_variant_builder_add_value (&pieces, g_variant_builder_end (&p));
      }
    g_variant_builder_add (&b, "{sv}", "pieces", g_variant_builder_end (&pieces));
    g_variant_builder_add (&b, "{sv}", "content-type", g_variant_new_string (self->content_type));
  }
  return g_variant_builder_end (&b);
}

static Piece *
piece_from_record (GVariant *record)
{
  g_autoptr (GVariant) bytes = g_variant_lookup_value (record, "bytes", G_VARIANT_TYPE_BYTESTRING);
  Piece *piece;
  const char *path = NULL;

  if (bytes != NULL)
    return piece_new_bytes (g_variant_get_data_as_bytes (bytes));

  piece = g_new0 (Piece, 1);
  piece->kind = PIECE_FILE;
  piece->fd = -1;
  g_variant_lookup (record, "path", "&s", &path);
  piece->path = path != NULL && *path != '\0' ? g_strdup (path) : NULL;
  piece->size = BT_SIZE_UNKNOWN;
  g_variant_lookup (record, "size", "t", &piece->size);
  g_variant_lookup (record, "mtime", "x", &piece->mtime);
  if (piece->path == NULL)
    {
      g_autoptr (GVariant) identity = g_variant_lookup_value (record, "fd", G_VARIANT_TYPE_VARDICT);

      piece->identity = bt_fd_identity_new_from_record (identity);
    }
  return piece;
}

BtSource *
bt_source_new_from_record (GVariant *record, GError **error)
{
  g_autoptr (BtSource) self = source_new ();
  g_autoptr (GVariant) pieces
      = g_variant_lookup_value (record, "pieces", G_VARIANT_TYPE ("aa{sv}"));

  if (pieces != NULL)
    {
      GVariantIter iter;
      GVariant *piece;

      self->multipart = TRUE;
      g_variant_lookup (record, "content-type", "s", &self->content_type);
      g_variant_iter_init (&iter, pieces);
      while ((piece = g_variant_iter_next_value (&iter)) != NULL)
        {
          g_ptr_array_add (self->pieces, piece_from_record (piece));
          g_variant_unref (piece);
        }
    }
  else
    g_ptr_array_add (self->pieces, piece_from_record (record));

  for (guint i = 0; i < self->pieces->len; i++)
    {
      Piece *piece = g_ptr_array_index (self->pieces, i);

      /* A caller's file, opened again if it is still the same one; its
       * size and mtime are checked before each attempt */
      if (piece->kind == PIECE_FILE && piece->path == NULL
          && (piece->fd = bt_fd_identity_reopen (piece->identity, O_RDONLY, error)) < 0)
        return NULL;
    }
  return g_steal_pointer (&self);
}

/*
 * bt_source_collect_fd_identities:
 * @out: (element-type BtFdIdentity): gets what each of the caller's fds is
 */
void
bt_source_collect_fd_identities (BtSource *self, GPtrArray *out)
{
  for (guint i = 0; i < self->pieces->len; i++)
    {
      Piece *piece = g_ptr_array_index (self->pieces, i);

      if (piece->identity != NULL)
        g_ptr_array_add (out, piece->identity);
    }
}

const char *
bt_source_get_path (BtSource *self)
{
  Piece *piece = g_ptr_array_index (self->pieces, 0);

  return self->multipart ? NULL : piece->path;
}

const char *
bt_source_get_content_type (BtSource *self)
{
  return self->content_type;
}

guint64
bt_source_get_size (BtSource *self)
{
  guint64 total = 0;

  for (guint i = 0; i < self->pieces->len; i++)
    {
      Piece *piece = g_ptr_array_index (self->pieces, i);

      if (piece->size == BT_SIZE_UNKNOWN)
        return BT_SIZE_UNKNOWN;
      total += piece->size;
    }
  return total;
}

/* Whether the body can be produced again (a restart, a tus offset) */
gboolean
bt_source_is_seekable (BtSource *self)
{
  return bt_source_get_size (self) != BT_SIZE_UNKNOWN;
}

gboolean
bt_source_check_unchanged (BtSource *self, GError **error)
{
  for (guint i = 0; i < self->pieces->len; i++)
    {
      Piece *piece = g_ptr_array_index (self->pieces, i);
      struct stat st;
      gint64 mtime;

      if (piece->kind != PIECE_FILE || piece->size == BT_SIZE_UNKNOWN)
        continue;
      if (piece->path != NULL ? stat (piece->path, &st) < 0 : fstat (piece->fd, &st) < 0)
        {
          g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "The source “%s” disappeared: %s",
                       piece->path != NULL ? piece->path : "fd", g_strerror (errno));
          return FALSE;
        }
      mtime = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
      if ((piece->path == NULL && st.st_nlink == 0) || (guint64) st.st_size != piece->size
          || mtime != piece->mtime)
        {
          g_set_error (error, BT_ERROR, BT_ERROR_FAILED,
                       "The source “%s” changed during the upload",
                       piece->path != NULL ? piece->path : "fd");
          return FALSE;
        }
    }
  return TRUE;
}

/*
 * bt_source_open:
 * @offset: where the body starts (tus); 0 otherwise
 *
 * Returns: (transfer full): a stream of the body from @offset
 */
GInputStream *
bt_source_open (BtSource *self, guint64 offset, GError **error)
{
  g_autoptr (GPtrArray) streams = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < self->pieces->len; i++)
    {
      Piece *piece = g_ptr_array_index (self->pieces, i);
      GInputStream *stream;

      if (piece->size != BT_SIZE_UNKNOWN && offset >= piece->size)
        {
          offset -= piece->size;
          continue;
        }

      if (piece->kind == PIECE_BYTES)
        {
          g_autoptr (GBytes) rest
              = g_bytes_new_from_bytes (piece->bytes, (gsize) offset, piece->size - offset);
          stream = g_memory_input_stream_new_from_bytes (rest);
        }
      else
        {
          int fd;

          if (piece->path != NULL)
            fd = open (piece->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
          else if (piece->size == BT_SIZE_UNKNOWN)
            fd = fcntl (piece->fd, F_DUPFD_CLOEXEC, 3); /* a pipe: read once */
          else
            {
              /* A private open file description: our own offset */
              g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d", piece->fd);
              fd = open (proc, O_RDONLY | O_CLOEXEC);
            }
          if (fd < 0)
            {
              g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "Cannot open the source “%s”: %s",
                           piece->path != NULL ? piece->path : "fd", g_strerror (errno));
              return NULL;
            }
          if (offset > 0 && lseek (fd, (off_t) offset, SEEK_SET) < 0)
            {
              g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "Cannot seek in the source: %s",
                           g_strerror (errno));
              close (fd);
              return NULL;
            }
          stream = g_unix_input_stream_new (fd, TRUE);
        }
      offset = 0;
      g_ptr_array_add (streams, stream);
    }

  return bt_concat_input_stream_new (streams);
}

/* Whether every descriptor of the source can be opened again after a
 * restart of the service (not a pipe, a socket or a deleted file) */
gboolean
bt_source_can_reopen (BtSource *self)
{
  for (guint i = 0; i < self->pieces->len; i++)
    {
      Piece *piece = g_ptr_array_index (self->pieces, i);

      if (piece->kind == PIECE_FILE && piece->path == NULL
          && (piece->identity == NULL || !bt_fd_identity_can_reopen (piece->identity)))
        return FALSE;
    }
  return TRUE;
}
