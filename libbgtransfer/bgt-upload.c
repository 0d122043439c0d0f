/* bgt-upload.c: an upload
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bgt-private.h"

/**
 * BgtUpload:
 *
 * An upload: a #BgtTransfer with a #BgtUpload:source.
 *
 * Since: 0.1
 */
struct _BgtUpload
{
  BgtTransfer parent_instance;
};

G_DEFINE_FINAL_TYPE (BgtUpload, bgt_upload, BGT_TYPE_TRANSFER)

enum
{
  PROP_0,
  PROP_SOURCE,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

static void
bgt_upload_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
      case PROP_SOURCE:
        g_value_set_string (value, _bgt_transfer_get_location (BGT_TRANSFER (object)));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_upload_class_init (BgtUploadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = bgt_upload_get_property;

  /**
   * BgtUpload:source:
   *
   * The path of the source file; %NULL when the application passed a
   * file descriptor.
   *
   * Since: 0.1
   */
  props[PROP_SOURCE]
      = g_param_spec_string ("source", NULL, NULL, NULL,
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
bgt_upload_init (BgtUpload *self)
{
}

/**
 * bgt_upload_get_source:
 * @self: a #BgtUpload
 *
 * Gets the #BgtUpload:source.
 *
 * Returns: (nullable): the path of the source file
 *
 * Since: 0.1
 */
const char *
bgt_upload_get_source (BgtUpload *self)
{
  g_return_val_if_fail (BGT_IS_UPLOAD (self), NULL);
  return _bgt_transfer_get_location (BGT_TRANSFER (self));
}

/**
 * bgt_upload_open_response_async:
 * @self: a #BgtUpload
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the stream
 * @user_data: data for @callback
 *
 * Opens the body of the server's reply to the upload, kept by the
 * service (unless #BgtUploader:response-destination sent it elsewhere).
 *
 * Since: 1.0
 */
void
bgt_upload_open_response_async (BgtUpload *self, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (BGT_IS_UPLOAD (self));
  _bgt_transfer_open_fd_async (BGT_TRANSFER (self), "OpenResponse", bgt_upload_open_response_async,
                               cancellable, callback, user_data);
}

/**
 * bgt_upload_open_response_finish:
 * @self: a #BgtUpload
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_upload_open_response_async().
 *
 * Returns: (transfer full): a #GInputStream of the file (reading it
 *   does not cross the bus), or %NULL with @error set
 *
 * Since: 1.0
 */
GInputStream *
bgt_upload_open_response_finish (BgtUpload *self, GAsyncResult *result, GError **error)
{
  return _bgt_transfer_open_fd_finish (BGT_TRANSFER (self), result, bgt_upload_open_response_async,
                                       error);
}
