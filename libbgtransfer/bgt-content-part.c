/* bgt-content-part.c: one part of a multipart/form-data upload
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "bgt-content-part-private.h"
#include "bgt-private.h"

/**
 * BgtContentPart:
 *
 * One part of a multipart/form-data upload
 * (bgt_uploader_create_multipart_upload_async()): a file, a file
 * descriptor, a text or bytes, with a form field name and optionally a
 * file name, a content type and headers.
 *
 * A sandboxed application names its files with file descriptors:
 * bgt_content_part_new_for_fd().
 *
 * Since: 0.1
 */
struct _BgtContentPart
{
  GObject parent_instance;

  char *name;
  GFile *file;
  int fd;        /* ours, or -1 */
  GBytes *value; /* text or bytes */
  gboolean value_is_text;
  char *filename;
  char *content_type;
  GPtrArray *headers;
};

enum
{
  PROP_0,
  PROP_NAME,
  PROP_FILENAME,
  PROP_CONTENT_TYPE,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (BgtContentPart, bgt_content_part, G_TYPE_OBJECT)

static void
bgt_content_part_finalize (GObject *object)
{
  BgtContentPart *self = BGT_CONTENT_PART (object);

  g_free (self->name);
  g_clear_object (&self->file);
  if (self->fd >= 0)
    g_close (self->fd, NULL);
  g_clear_pointer (&self->value, g_bytes_unref);
  g_free (self->filename);
  g_free (self->content_type);
  g_ptr_array_unref (self->headers);
  G_OBJECT_CLASS (bgt_content_part_parent_class)->finalize (object);
}

static void
bgt_content_part_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BgtContentPart *self = BGT_CONTENT_PART (object);

  switch (prop_id)
    {
      case PROP_NAME:
        g_value_set_string (value, self->name);
        break;
      case PROP_FILENAME:
        g_value_set_string (value, self->filename);
        break;
      case PROP_CONTENT_TYPE:
        g_value_set_string (value, self->content_type);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_content_part_set_property (GObject *object, guint prop_id, const GValue *value,
                               GParamSpec *pspec)
{
  BgtContentPart *self = BGT_CONTENT_PART (object);

  switch (prop_id)
    {
      case PROP_NAME:
        self->name = g_value_dup_string (value);
        break;
      case PROP_FILENAME:
        bgt_content_part_set_filename (self, g_value_get_string (value));
        break;
      case PROP_CONTENT_TYPE:
        bgt_content_part_set_content_type (self, g_value_get_string (value));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_content_part_class_init (BgtContentPartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = bgt_content_part_finalize;
  object_class->get_property = bgt_content_part_get_property;
  object_class->set_property = bgt_content_part_set_property;

  /**
   * BgtContentPart:name:
   *
   * The form field name.
   *
   * Since: 1.0
   */
  props[PROP_NAME]
      = g_param_spec_string ("name", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * BgtContentPart:filename:
   *
   * The file name announced to the server (`filename` of the part's
   * Content-Disposition), or %NULL for none. A part made from a #GFile
   * announces the file's base name unless told otherwise.
   *
   * Since: 1.0
   */
  props[PROP_FILENAME]
      = g_param_spec_string ("filename", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /**
   * BgtContentPart:content-type:
   *
   * The part's MIME type, or %NULL to let the service choose.
   *
   * Since: 1.0
   */
  props[PROP_CONTENT_TYPE]
      = g_param_spec_string ("content-type", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
bgt_content_part_init (BgtContentPart *self)
{
  self->fd = -1;
  self->headers = g_ptr_array_new_with_free_func (g_free);
}

/**
 * bgt_content_part_new_for_file:
 * @name: the form field name
 * @file: the file to send (a local file)
 *
 * Creates a part whose content is read from @file; its file name is the
 * file's base name.
 *
 * Returns: (transfer full): a new part
 *
 * Since: 0.1
 */
BgtContentPart *
bgt_content_part_new_for_file (const char *name, GFile *file)
{
  BgtContentPart *self;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (G_IS_FILE (file), NULL);
  self = g_object_new (BGT_TYPE_CONTENT_PART, "name", name, NULL);
  self->file = g_object_ref (file);
  self->filename = g_file_get_basename (file);
  return self;
}

/**
 * bgt_content_part_new_for_fd:
 * @name: the form field name
 * @fd: a file opened for reading; the part keeps a duplicate, the
 *   caller keeps @fd
 * @error: return location for a #GError
 *
 * A part read from a file descriptor: the way a sandboxed application
 * names a file.
 *
 * Returns: (transfer full): a new part, or %NULL with @error set if @fd
 *   cannot be duplicated
 *
 * Since: 1.0
 */
BgtContentPart *
bgt_content_part_new_for_fd (const char *name, int fd, GError **error)
{
  BgtContentPart *self;
  int copy;

  g_return_val_if_fail (name != NULL, NULL);
  copy = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0)
    {
      int saved_errno = errno;

      g_set_error (error, BGT_ERROR, BGT_ERROR_INVALID_ARGUMENT, "Invalid fd: %s",
                   g_strerror (saved_errno));
      return NULL;
    }
  self = g_object_new (BGT_TYPE_CONTENT_PART, "name", name, NULL);
  self->fd = copy;
  return self;
}

/**
 * bgt_content_part_new_for_value:
 * @name: the form field name
 * @value: the text to send
 *
 * Creates a part whose content is the text @value.
 *
 * Returns: (transfer full): a new part
 *
 * Since: 0.1
 */
BgtContentPart *
bgt_content_part_new_for_value (const char *name, const char *value)
{
  BgtContentPart *self;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (value != NULL, NULL);
  self = g_object_new (BGT_TYPE_CONTENT_PART, "name", name, NULL);
  self->value = g_bytes_new (value, strlen (value));
  self->value_is_text = TRUE;
  return self;
}

/**
 * bgt_content_part_new_for_bytes:
 * @name: the form field name
 * @value: the bytes to send, which need not be text
 *
 * Creates a part whose content is @value.
 *
 * Returns: (transfer full): a new part
 *
 * Since: 1.0
 */
BgtContentPart *
bgt_content_part_new_for_bytes (const char *name, GBytes *value)
{
  BgtContentPart *self;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (value != NULL, NULL);
  self = g_object_new (BGT_TYPE_CONTENT_PART, "name", name, NULL);
  self->value = g_bytes_ref (value);
  return self;
}

/**
 * bgt_content_part_get_name:
 * @self: a #BgtContentPart
 *
 * Gets the #BgtContentPart:name.
 *
 * Returns: the #BgtContentPart:name
 *
 * Since: 1.0
 */
const char *
bgt_content_part_get_name (BgtContentPart *self)
{
  g_return_val_if_fail (BGT_IS_CONTENT_PART (self), NULL);
  return self->name;
}

/**
 * bgt_content_part_get_filename:
 * @self: a #BgtContentPart
 *
 * Gets the #BgtContentPart:filename.
 *
 * Returns: (nullable): the #BgtContentPart:filename
 *
 * Since: 1.0
 */
const char *
bgt_content_part_get_filename (BgtContentPart *self)
{
  g_return_val_if_fail (BGT_IS_CONTENT_PART (self), NULL);
  return self->filename;
}

/**
 * bgt_content_part_set_filename:
 * @self: a #BgtContentPart
 * @filename: (nullable): the file name announced to the server
 *
 * Sets the #BgtContentPart:filename.
 *
 * Since: 0.1
 */
void
bgt_content_part_set_filename (BgtContentPart *self, const char *filename)
{
  g_return_if_fail (BGT_IS_CONTENT_PART (self));
  if (g_strcmp0 (self->filename, filename) == 0)
    return;
  g_free (self->filename);
  self->filename = g_strdup (filename);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_FILENAME]);
}

/**
 * bgt_content_part_get_content_type:
 * @self: a #BgtContentPart
 *
 * Gets the #BgtContentPart:content-type.
 *
 * Returns: (nullable): the #BgtContentPart:content-type
 *
 * Since: 1.0
 */
const char *
bgt_content_part_get_content_type (BgtContentPart *self)
{
  g_return_val_if_fail (BGT_IS_CONTENT_PART (self), NULL);
  return self->content_type;
}

/**
 * bgt_content_part_set_content_type:
 * @self: a #BgtContentPart
 * @content_type: (nullable): a MIME type
 *
 * Sets the #BgtContentPart:content-type.
 *
 * Since: 0.1
 */
void
bgt_content_part_set_content_type (BgtContentPart *self, const char *content_type)
{
  g_return_if_fail (BGT_IS_CONTENT_PART (self));
  if (g_strcmp0 (self->content_type, content_type) == 0)
    return;
  g_free (self->content_type);
  self->content_type = g_strdup (content_type);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CONTENT_TYPE]);
}

/**
 * bgt_content_part_set_header:
 * @self: a #BgtContentPart
 * @name: a header name
 * @value: its value
 *
 * Adds a header to the part's own headers.
 *
 * Since: 0.1
 */
void
bgt_content_part_set_header (BgtContentPart *self, const char *name, const char *value)
{
  g_return_if_fail (BGT_IS_CONTENT_PART (self));
  g_return_if_fail (name != NULL && value != NULL);
  g_ptr_array_add (self->headers, g_strdup (name));
  g_ptr_array_add (self->headers, g_strdup (value));
}

/* The part as the service takes it (an a{sv} of "parts"); an fd goes into
 * @fd_list */
GVariant *
_bgt_content_part_to_variant (BgtContentPart *self, GUnixFDList *fd_list, GError **error)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (self->name));
  if (self->filename != NULL)
    g_variant_builder_add (&b, "{sv}", "filename", g_variant_new_string (self->filename));
  if (self->content_type != NULL)
    g_variant_builder_add (&b, "{sv}", "content-type", g_variant_new_string (self->content_type));
  if (self->headers->len > 0)
    {
      GVariantBuilder headers;

      g_variant_builder_init (&headers, G_VARIANT_TYPE ("a(ss)"));
      for (guint i = 0; i + 1 < self->headers->len; i += 2)
        g_variant_builder_add (&headers, "(ss)",
                               (const char *) g_ptr_array_index (self->headers, i),
                               (const char *) g_ptr_array_index (self->headers, i + 1));
      g_variant_builder_add (&b, "{sv}", "headers", g_variant_builder_end (&headers));
    }
  if (self->file != NULL)
    {
      g_autofree char *path = g_file_get_path (self->file);

      /* A file with no local path is refused by the service as empty */
      g_variant_builder_add (&b, "{sv}", "file", g_variant_new_string (path != NULL ? path : ""));
    }
  else if (self->fd >= 0)
    {
      int index = g_unix_fd_list_append (fd_list, self->fd, error);

      if (index < 0)
        {
          g_variant_builder_clear (&b);
          return NULL;
        }
      g_variant_builder_add (&b, "{sv}", "fd", g_variant_new_handle (index));
    }
  else if (self->value_is_text)
    {
      gsize size;
      const char *data = g_bytes_get_data (self->value, &size);

      g_variant_builder_add (&b, "{sv}", "value",
                             g_variant_new_take_string (g_strndup (data, size)));
    }
  else
    g_variant_builder_add (&b, "{sv}", "value",
                           g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, self->value, TRUE));
  return g_variant_builder_end (&b);
}
