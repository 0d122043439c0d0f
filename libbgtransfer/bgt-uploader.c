/* bgt-uploader.c: creates uploads
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gunixfdlist.h>

#include "bgt-private.h"
#include "bgt-request.h"

/**
 * BgtContentPart:
 *
 * One part of a multipart/form-data upload: a file or a value, with a
 * name and optionally a file name, a content type and headers.
 *
 * Since: 0.1
 */
struct _BgtContentPart
{
  GObject parent_instance;

  char *name;
  GFile *file;
  char *value;
  char *filename;
  char *content_type;
  GPtrArray *headers;
};

G_DEFINE_FINAL_TYPE (BgtContentPart, bgt_content_part, G_TYPE_OBJECT)

static void
bgt_content_part_finalize (GObject *object)
{
  BgtContentPart *self = BGT_CONTENT_PART (object);

  g_free (self->name);
  g_clear_object (&self->file);
  g_free (self->value);
  g_free (self->filename);
  g_free (self->content_type);
  g_ptr_array_unref (self->headers);
  G_OBJECT_CLASS (bgt_content_part_parent_class)->finalize (object);
}

static void
bgt_content_part_class_init (BgtContentPartClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bgt_content_part_finalize;
}

static void
bgt_content_part_init (BgtContentPart *self)
{
  self->headers = g_ptr_array_new_with_free_func (g_free);
}

/**
 * bgt_content_part_new_for_file:
 * @name: the form field name
 * @file: the file to send (a local file)
 *
 * Returns: (transfer full): a new part
 *
 * Since: 0.1
 */
BgtContentPart *
bgt_content_part_new_for_file (const char *name, GFile *file)
{
  BgtContentPart *self = g_object_new (BGT_TYPE_CONTENT_PART, NULL);

  self->name = g_strdup (name);
  self->file = g_object_ref (file);
  self->filename = g_file_get_basename (file);
  return self;
}

/**
 * bgt_content_part_new_for_value:
 * @name: the form field name
 * @value: the text to send
 *
 * Returns: (transfer full): a new part
 *
 * Since: 0.1
 */
BgtContentPart *
bgt_content_part_new_for_value (const char *name, const char *value)
{
  BgtContentPart *self = g_object_new (BGT_TYPE_CONTENT_PART, NULL);

  self->name = g_strdup (name);
  self->value = g_strdup (value);
  return self;
}

/**
 * bgt_content_part_set_filename:
 * @self: a #BgtContentPart
 * @filename: (nullable): the file name announced to the server
 *
 * Since: 0.1
 */
void
bgt_content_part_set_filename (BgtContentPart *self, const char *filename)
{
  g_free (self->filename);
  self->filename = g_strdup (filename);
}

/**
 * bgt_content_part_set_content_type:
 * @self: a #BgtContentPart
 * @content_type: (nullable): a MIME type
 *
 * Since: 0.1
 */
void
bgt_content_part_set_content_type (BgtContentPart *self, const char *content_type)
{
  g_free (self->content_type);
  self->content_type = g_strdup (content_type);
}

/**
 * bgt_content_part_set_header:
 * @self: a #BgtContentPart
 * @name: a header name
 * @value: its value
 *
 * Since: 0.1
 */
void
bgt_content_part_set_header (BgtContentPart *self, const char *name, const char *value)
{
  g_ptr_array_add (self->headers, g_strdup (name));
  g_ptr_array_add (self->headers, g_strdup (value));
}

static GVariant *
part_to_variant (BgtContentPart *self)
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
      g_variant_builder_add (&b, "{sv}", "file", g_variant_new_string (path != NULL ? path : ""));
    }
  else
    g_variant_builder_add (&b, "{sv}", "value", g_variant_new_string (self->value));
  return g_variant_builder_end (&b);
}

/**
 * BgtUploader:
 *
 * Creates uploads with shared defaults.
 *
 * Since: 0.1
 */
struct _BgtUploader
{
  GObject parent_instance;

  BgtClient *client;
  BgtRequestDefaults defaults;
  char *method;
  gboolean resumable;
  GFile *response_destination;
};

G_DEFINE_FINAL_TYPE (BgtUploader, bgt_uploader, G_TYPE_OBJECT)

static void
bgt_uploader_finalize (GObject *object)
{
  BgtUploader *self = BGT_UPLOADER (object);

  g_clear_object (&self->client);
  _bgt_request_defaults_clear (&self->defaults);
  g_free (self->method);
  g_clear_object (&self->response_destination);
  G_OBJECT_CLASS (bgt_uploader_parent_class)->finalize (object);
}

static void
bgt_uploader_class_init (BgtUploaderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bgt_uploader_finalize;
}

static void
bgt_uploader_init (BgtUploader *self)
{
  _bgt_request_defaults_init (&self->defaults);
}

/**
 * bgt_uploader_new:
 * @client: a #BgtClient
 *
 * Returns: (transfer full): a new uploader
 *
 * Since: 0.1
 */
BgtUploader *
bgt_uploader_new (BgtClient *client)
{
  BgtUploader *self = g_object_new (BGT_TYPE_UPLOADER, NULL);

  self->client = g_object_ref (client);
  return self;
}

/**
 * bgt_uploader_set_method:
 * @self: a #BgtUploader
 * @method: (nullable): "POST" (the default) or "PUT"
 *
 * Since: 0.1
 */
void
bgt_uploader_set_method (BgtUploader *self, const char *method)
{
  g_free (self->method);
  self->method = g_strdup (method);
}

/**
 * bgt_uploader_set_resumable:
 * @self: a #BgtUploader
 * @resumable: whether to use the tus protocol, which resumes after interruptions
 *
 * Since: 0.1
 */
void
bgt_uploader_set_resumable (BgtUploader *self, gboolean resumable)
{
  self->resumable = resumable;
}

/**
 * bgt_uploader_set_response_destination:
 * @self: a #BgtUploader
 * @file: (nullable): a local file for the server's reply body, or %NULL to
 *   have the service keep it (see #BgtUpload)
 *
 * Where the body of the server's reply goes. The file must not exist yet;
 * it appears only once the upload has completed.
 *
 * Since: 0.1
 */
void
bgt_uploader_set_response_destination (BgtUploader *self, GFile *file)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  g_return_if_fail (file == NULL || G_IS_FILE (file));
  g_set_object (&self->response_destination, file);
}

/**
 * bgt_uploader_set_cost_policy:
 * @self: a #BgtUploader
 * @cost_policy: a #BgtCostPolicy
 *
 * Since: 0.1
 */
void
bgt_uploader_set_cost_policy (BgtUploader *self, BgtCostPolicy cost_policy)
{
  self->defaults.cost_policy = cost_policy;
}

/**
 * bgt_uploader_set_priority:
 * @self: a #BgtUploader
 * @priority: a #BgtPriority
 *
 * Since: 0.1
 */
void
bgt_uploader_set_priority (BgtUploader *self, BgtPriority priority)
{
  self->defaults.priority = priority;
}

/**
 * bgt_uploader_set_group:
 * @self: a #BgtUploader
 * @group: (nullable): a group name
 *
 * Since: 0.1
 */
void
bgt_uploader_set_group (BgtUploader *self, const char *group)
{
  g_free (self->defaults.group);
  self->defaults.group = g_strdup (group);
}

/**
 * bgt_uploader_set_tag:
 * @self: a #BgtUploader
 * @tag: (nullable): free text
 *
 * Since: 0.1
 */
void
bgt_uploader_set_tag (BgtUploader *self, const char *tag)
{
  g_free (self->defaults.tag);
  self->defaults.tag = g_strdup (tag);
}

/**
 * bgt_uploader_set_request_header:
 * @self: a #BgtUploader
 * @name: a header name
 * @value: (nullable): its value, or %NULL to stop sending it
 *
 * Since: 0.1
 */
void
bgt_uploader_set_request_header (BgtUploader *self, const char *name, const char *value)
{
  _bgt_request_defaults_set_header (&self->defaults, name, value);
}

/**
 * bgt_uploader_set_server_credential:
 * @self: a #BgtUploader
 * @username: (nullable): the user name
 * @password: (nullable): the password
 *
 * Since: 0.1
 */
void
bgt_uploader_set_server_credential (BgtUploader *self, const char *username, const char *password)
{
  _bgt_request_defaults_set_credential (&self->defaults, username, password);
}

static void
build_options (BgtUploader *self, GVariantBuilder *options)
{
  g_variant_builder_init (options, G_VARIANT_TYPE_VARDICT);
  _bgt_request_defaults_add_options (&self->defaults, self->client, options);
  if (self->method != NULL)
    g_variant_builder_add (options, "{sv}", "method", g_variant_new_string (self->method));
  if (self->resumable)
    g_variant_builder_add (options, "{sv}", "protocol", g_variant_new_string ("tus"));
  if (self->response_destination != NULL)
    {
      g_autofree char *path = g_file_get_path (self->response_destination);

      if (path != NULL)
        g_variant_builder_add (options, "{sv}", "response-destination",
                               g_variant_new_string (path));
    }
}

/**
 * bgt_uploader_create_upload_async:
 * @self: a #BgtUploader
 * @uri: an http or https URI
 * @source: the file to send
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the upload
 * @user_data: data for @callback
 *
 * Since: 0.1
 */
void
bgt_uploader_create_upload_async (BgtUploader *self, const char *uri, GFile *source,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  g_autofree char *path = g_file_get_path (source);
  GVariantBuilder options;

  build_options (self, &options);
  g_variant_builder_add (&options, "{sv}", "source",
                         g_variant_new_string (path != NULL ? path : ""));
  _bgt_create_transfer (self->client, "CreateUpload", uri, &options, NULL, self,
                        bgt_uploader_create_upload_async, cancellable, callback, user_data);
}

/**
 * bgt_uploader_create_upload_for_fd_async:
 * @self: a #BgtUploader
 * @uri: an http or https URI
 * @fd: a file or pipe open for reading; the service gets a duplicate
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the upload
 * @user_data: data for @callback
 *
 * Since: 0.1
 */
void
bgt_uploader_create_upload_for_fd_async (BgtUploader *self, const char *uri, int fd,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data)
{
  g_autoptr (GUnixFDList) fd_list = g_unix_fd_list_new ();
  GVariantBuilder options;
  int index = g_unix_fd_list_append (fd_list, fd, NULL);

  build_options (self, &options);
  g_variant_builder_add (&options, "{sv}", "source-fd", g_variant_new_handle (MAX (index, 0)));
  _bgt_create_transfer (self->client, "CreateUpload", uri, &options, fd_list, self,
                        bgt_uploader_create_upload_async, cancellable, callback, user_data);
}

/**
 * bgt_uploader_create_multipart_upload_async:
 * @self: a #BgtUploader
 * @uri: an http or https URI
 * @parts: (array length=n_parts): the parts
 * @n_parts: how many parts
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the upload
 * @user_data: data for @callback
 *
 * A multipart/form-data upload, streamed from the files.
 *
 * Since: 0.1
 */
void
bgt_uploader_create_multipart_upload_async (BgtUploader *self, const char *uri,
                                            BgtContentPart **parts, guint n_parts,
                                            GCancellable *cancellable, GAsyncReadyCallback callback,
                                            gpointer user_data)
{
  GVariantBuilder options, list;

  build_options (self, &options);
  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < n_parts; i++)
    g_variant_builder_add_value (&list, part_to_variant (parts[i]));
  g_variant_builder_add (&options, "{sv}", "parts", g_variant_builder_end (&list));
  _bgt_create_transfer (self->client, "CreateUpload", uri, &options, NULL, self,
                        bgt_uploader_create_upload_async, cancellable, callback, user_data);
}

/**
 * bgt_uploader_create_upload_finish:
 * @self: a #BgtUploader
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the upload, or %NULL with @error set
 *
 * Since: 0.1
 */
BgtUpload *
bgt_uploader_create_upload_finish (BgtUploader *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * bgt_uploader_create_upload_for_fd_finish:
 * @self: a #BgtUploader
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_uploader_create_upload_for_fd_async().
 *
 * Returns: (transfer full): the upload, or %NULL with @error set
 *
 * Since: 0.1
 */
BgtUpload *
bgt_uploader_create_upload_for_fd_finish (BgtUploader *self, GAsyncResult *result, GError **error)
{
  return bgt_uploader_create_upload_finish (self, result, error);
}

/**
 * bgt_uploader_create_multipart_upload_finish:
 * @self: a #BgtUploader
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_uploader_create_multipart_upload_async().
 *
 * Returns: (transfer full): the upload, or %NULL with @error set
 *
 * Since: 0.1
 */
BgtUpload *
bgt_uploader_create_multipart_upload_finish (BgtUploader *self, GAsyncResult *result,
                                             GError **error)
{
  return bgt_uploader_create_upload_finish (self, result, error);
}
