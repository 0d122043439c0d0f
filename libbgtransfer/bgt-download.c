/* bgt-download.c: a download
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bgt-private.h"
#include "bt-names.h"

/**
 * BgtDownload:
 *
 * A download: a #BgtTransfer with a #BgtDownload:destination.
 *
 * Since: 0.1
 */
struct _BgtDownload
{
  BgtTransfer parent_instance;
};

G_DEFINE_FINAL_TYPE (BgtDownload, bgt_download, BGT_TYPE_TRANSFER)

enum
{
  PROP_0,
  PROP_DESTINATION,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

static void
bgt_download_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
      case PROP_DESTINATION:
        g_value_set_string (value, _bgt_transfer_get_location (BGT_TRANSFER (object)));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_download_class_init (BgtDownloadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = bgt_download_get_property;

  /**
   * BgtDownload:destination:
   *
   * The path of the destination file; %NULL when the application passed a
   * file descriptor.
   *
   * Since: 0.1
   */
  props[PROP_DESTINATION]
      = g_param_spec_string ("destination", NULL, NULL, NULL,
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
bgt_download_init (BgtDownload *self)
{
}

/**
 * bgt_download_get_destination:
 * @self: a #BgtDownload
 *
 * Gets the #BgtDownload:destination.
 *
 * Returns: (nullable): the path of the destination file
 *
 * Since: 0.1
 */
const char *
bgt_download_get_destination (BgtDownload *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOAD (self), NULL);
  return _bgt_transfer_get_location (BGT_TRANSFER (self));
}

/**
 * bgt_download_open_result_async:
 * @self: a #BgtDownload
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the stream
 * @user_data: data for @callback
 *
 * Opens the data received so far, from the start of the file: while
 * the download runs (the service writes it beside the destination) and
 * after it has completed. The stream reads what is on disk when it reads;
 * #BgtTransfer::ranges-added tells what has arrived since, and a read
 * past the data received so far meets the end of the stream.
 *
 * Since: 1.0
 */
void
bgt_download_open_result_async (BgtDownload *self, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (BGT_IS_DOWNLOAD (self));
  _bgt_transfer_open_fd_async (BGT_TRANSFER (self), "OpenResult", bgt_download_open_result_async,
                               cancellable, callback, user_data);
}

/**
 * bgt_download_open_result_finish:
 * @self: a #BgtDownload
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_download_open_result_async().
 *
 * Returns: (transfer full): a #GInputStream of the file (reading it
 *   does not cross the bus), or %NULL with @error set
 *
 * Since: 1.0
 */
GInputStream *
bgt_download_open_result_finish (BgtDownload *self, GAsyncResult *result, GError **error)
{
  return _bgt_transfer_open_fd_finish (BGT_TRANSFER (self), result, bgt_download_open_result_async,
                                       error);
}

static void
on_range_requested (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtTransfer *self = g_task_get_source_object (task);
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;

  reply = _bgt_client_call_finish (bgt_transfer_get_client (self), result, NULL, &error);
  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * bgt_download_request_range_async:
 * @self: a #BgtDownload
 * @offset: the first byte wanted
 * @length: how many bytes from @offset
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when the service
 *   took the request
 * @user_data: data for @callback
 *
 * Asks the service to fetch these bytes before the rest, as a media
 * player that seeks: a connection goes there (with one connection, that
 * connection moves there and goes on from there). The call does not wait
 * for the data: #BgtTransfer::ranges-added tells when it has arrived, and
 * a #BgtResultStream (bgt_download_open_result_stream_async()) asks and
 * waits by itself. Only for a download created with
 * #BgtDownloader:random-access (else %BGT_ERROR_INVALID_STATE), from a
 * server that answers ranges (else the data comes in order).
 *
 * Since: 1.0
 */
void
bgt_download_request_range_async (BgtDownload *self, gint64 offset, gint64 length,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  BgtTransfer *transfer;

  g_return_if_fail (BGT_IS_DOWNLOAD (self));
  g_return_if_fail (offset >= 0 && length >= 0);

  transfer = BGT_TRANSFER (self);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bgt_download_request_range_async);
  _bgt_client_call (bgt_transfer_get_client (transfer), bgt_transfer_get_object_path (transfer),
                    BGT_TRANSFER_INTERFACE, BT_TRANSFER_METHOD_REQUEST_RANGE,
                    g_variant_new ("(tt)", (guint64) offset, (guint64) length), NULL, NULL,
                    cancellable, on_range_requested, g_steal_pointer (&task));
}

/**
 * bgt_download_request_range_finish:
 * @self: a #BgtDownload
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_download_request_range_async().
 *
 * Returns: %TRUE if the service took the request
 *
 * Since: 1.0
 */
gboolean
bgt_download_request_range_finish (BgtDownload *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (BGT_IS_DOWNLOAD (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bgt_download_request_range_async,
                        FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
