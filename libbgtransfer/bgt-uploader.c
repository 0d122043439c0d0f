/* bgt-uploader.c: creates uploads
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>

#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>

#include "bgt-content-part-private.h"
#include "bgt-private.h"
#include "bgt-request.h"

/**
 * BgtUploader:
 *
 * Creates uploads with shared defaults (WinRT's BackgroundUploader):
 * the same properties as #BgtDownloader for what uploads share with
 * downloads, and the options of uploads alone. Change the defaults
 * between two uploads as you like; an upload keeps the ones it was
 * created with.
 *
 * Since: 0.1
 */
struct _BgtUploader
{
  GObject parent_instance;

  BgtRequestDefaults defaults;
  gboolean resumable;
  GFile *response_destination;
  int response_destination_fd; /* ours, or -1 */
};

enum
{
  PROP_RESUMABLE = BGT_REQUEST_N_PROPS,
  PROP_RESPONSE_DESTINATION,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (BgtUploader, bgt_uploader, G_TYPE_OBJECT)

static void
bgt_uploader_finalize (GObject *object)
{
  BgtUploader *self = BGT_UPLOADER (object);

  _bgt_request_defaults_clear (&self->defaults);
  g_clear_object (&self->response_destination);
  if (self->response_destination_fd >= 0)
    g_close (self->response_destination_fd, NULL);
  G_OBJECT_CLASS (bgt_uploader_parent_class)->finalize (object);
}

static void
bgt_uploader_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BgtUploader *self = BGT_UPLOADER (object);

  if (_bgt_request_get_property (&self->defaults, prop_id, value))
    return;
  switch (prop_id)
    {
      case PROP_RESUMABLE:
        g_value_set_boolean (value, self->resumable);
        break;
      case PROP_RESPONSE_DESTINATION:
        g_value_set_object (value, self->response_destination);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_uploader_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  BgtUploader *self = BGT_UPLOADER (object);

  if (_bgt_request_set_property (object, &self->defaults, props, prop_id, value))
    return;
  switch (prop_id)
    {
      case PROP_RESUMABLE:
        bgt_uploader_set_resumable (self, g_value_get_boolean (value));
        break;
      case PROP_RESPONSE_DESTINATION:
        bgt_uploader_set_response_destination (self, g_value_get_object (value));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_uploader_class_init (BgtUploaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = bgt_uploader_finalize;
  object_class->get_property = bgt_uploader_get_property;
  object_class->set_property = bgt_uploader_set_property;

  /* The properties downloads and uploads share (see BgtDownloader) */
  /**
   * BgtUploader:client:
   *
   * The client uploads are created with.
   *
   * Since: 0.1
   */
  /**
   * BgtUploader:cost-policy:
   *
   * On which networks new uploads may run.
   *
   * Since: 0.1
   */
  /**
   * BgtUploader:priority:
   *
   * The priority of new uploads.
   *
   * Since: 0.1
   */
  /**
   * BgtUploader:group:
   *
   * The transfer group of new uploads: the #BgtTransferGroup:name of a
   * #BgtTransferGroup, or %NULL for none.
   *
   * Since: 0.1
   */
  /**
   * BgtUploader:tag:
   *
   * Free text of the application for new uploads.
   *
   * Since: 0.1
   */
  /**
   * BgtUploader:start:
   *
   * Whether new uploads start at once; otherwise they stay
   * %BGT_STATUS_IDLE until bgt_transfer_start_async().
   *
   * Since: 0.1
   */
  /**
   * BgtUploader:completion-group:
   *
   * The #BgtCompletionGroup new uploads join, or %NULL for none. The
   * group must not be enabled yet.
   *
   * Since: 1.0
   */
  /**
   * BgtUploader:max-rate:
   *
   * The most bytes per second each new upload may move, 0 for no
   * limit of its own (the service's global limits apply anyway).
   *
   * Since: 1.0
   */
  /**
   * BgtUploader:method:
   *
   * The HTTP method of new uploads: "POST" (%NULL, the default) or
   * "PUT".
   *
   * Since: 1.0
   */
  /**
   * BgtUploader:show-notifications:
   *
   * Whether the desktop shows a notification when a new upload
   * ends. The texts are the #BgtUploader:notify-success-title and the
   * others, or the service's own for those that are %NULL.
   *
   * Since: 1.0
   */
  /**
   * BgtUploader:notify-success-title:
   *
   * The title of the notification when a new upload completed, or
   * %NULL for the service's; see #BgtUploader:show-notifications.
   *
   * Since: 1.0
   */
  /**
   * BgtUploader:notify-success-body:
   *
   * The body of the notification when a new upload completed, or
   * %NULL for the service's.
   *
   * Since: 1.0
   */
  /**
   * BgtUploader:notify-failure-title:
   *
   * The title of the notification when a new upload failed, or
   * %NULL for the service's.
   *
   * Since: 1.0
   */
  /**
   * BgtUploader:notify-failure-body:
   *
   * The body of the notification when a new upload failed, or
   * %NULL for the service's.
   *
   * Since: 1.0
   */
  _bgt_request_install_properties (props);

  /**
   * BgtUploader:resumable:
   *
   * Whether new uploads use the tus protocol, which resumes after an
   * interruption from the server's offset; a plain PUT or POST starts
   * again from zero.
   *
   * Since: 1.0
   */
  props[PROP_RESUMABLE] = g_param_spec_boolean ("resumable", NULL, NULL, FALSE, BGT_REQUEST_RW);
  /**
   * BgtUploader:response-destination:
   *
   * A local file for the body of the server's reply to new uploads, or
   * %NULL to have the service keep it (bgt_upload_open_response_async()).
   * The file must not exist yet; it appears once the upload has completed.
   * A file descriptor instead: bgt_uploader_set_response_destination_fd().
   *
   * Since: 1.0
   */
  props[PROP_RESPONSE_DESTINATION]
      = g_param_spec_object ("response-destination", NULL, NULL, G_TYPE_FILE, BGT_REQUEST_RW);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
bgt_uploader_init (BgtUploader *self)
{
  _bgt_request_defaults_init (&self->defaults);
  self->response_destination_fd = -1;
}

/**
 * bgt_uploader_new:
 * @client: a #BgtClient
 *
 * Creates an uploader with the default options.
 *
 * Returns: (transfer full): a new uploader
 *
 * Since: 0.1
 */
BgtUploader *
bgt_uploader_new (BgtClient *client)
{
  g_return_val_if_fail (BGT_IS_CLIENT (client), NULL);
  return g_object_new (BGT_TYPE_UPLOADER, "client", client, NULL);
}

/**
 * bgt_uploader_get_client:
 * @self: a #BgtUploader
 *
 * Gets the #BgtUploader:client.
 *
 * Returns: (transfer none): the client
 *
 * Since: 1.0
 */
BgtClient *
bgt_uploader_get_client (BgtUploader *self)
{
  g_return_val_if_fail (BGT_IS_UPLOADER (self), NULL);
  return self->defaults.client;
}

/**
 * bgt_uploader_get_cost_policy:
 * @self: a #BgtUploader
 *
 * Gets the #BgtUploader:cost-policy.
 *
 * Returns: the cost policy of new uploads
 *
 * Since: 1.0
 */
BgtCostPolicy
bgt_uploader_get_cost_policy (BgtUploader *self)
{
  g_return_val_if_fail (BGT_IS_UPLOADER (self), BGT_COST_POLICY_DEFAULT);
  return self->defaults.cost_policy;
}

/**
 * bgt_uploader_set_cost_policy:
 * @self: a #BgtUploader
 * @cost_policy: a #BgtCostPolicy
 *
 * Sets #BgtUploader:cost-policy.
 *
 * Since: 0.1
 */
void
bgt_uploader_set_cost_policy (BgtUploader *self, BgtCostPolicy cost_policy)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  _bgt_request_set_int (G_OBJECT (self), props[BGT_REQUEST_PROP_COST_POLICY],
                        (int *) &self->defaults.cost_policy, cost_policy);
}

/**
 * bgt_uploader_get_priority:
 * @self: a #BgtUploader
 *
 * Gets the #BgtUploader:priority.
 *
 * Returns: the priority of new uploads
 *
 * Since: 1.0
 */
BgtPriority
bgt_uploader_get_priority (BgtUploader *self)
{
  g_return_val_if_fail (BGT_IS_UPLOADER (self), BGT_PRIORITY_DEFAULT);
  return self->defaults.priority;
}

/**
 * bgt_uploader_set_priority:
 * @self: a #BgtUploader
 * @priority: a #BgtPriority
 *
 * Sets #BgtUploader:priority.
 *
 * Since: 0.1
 */
void
bgt_uploader_set_priority (BgtUploader *self, BgtPriority priority)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  _bgt_request_set_int (G_OBJECT (self), props[BGT_REQUEST_PROP_PRIORITY],
                        (int *) &self->defaults.priority, priority);
}

/**
 * bgt_uploader_get_group:
 * @self: a #BgtUploader
 *
 * Gets the #BgtUploader:group.
 *
 * Returns: (nullable): the transfer group of new uploads
 *
 * Since: 1.0
 */
const char *
bgt_uploader_get_group (BgtUploader *self)
{
  g_return_val_if_fail (BGT_IS_UPLOADER (self), NULL);
  return self->defaults.group;
}

/**
 * bgt_uploader_set_group:
 * @self: a #BgtUploader
 * @group: (nullable): a transfer group name
 *
 * Sets #BgtUploader:group.
 *
 * Since: 0.1
 */
void
bgt_uploader_set_group (BgtUploader *self, const char *group)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  _bgt_request_set_string (G_OBJECT (self), props[BGT_REQUEST_PROP_GROUP], &self->defaults.group,
                           group);
}

/**
 * bgt_uploader_get_tag:
 * @self: a #BgtUploader
 *
 * Gets the #BgtUploader:tag.
 *
 * Returns: (nullable): the tag of new uploads
 *
 * Since: 1.0
 */
const char *
bgt_uploader_get_tag (BgtUploader *self)
{
  g_return_val_if_fail (BGT_IS_UPLOADER (self), NULL);
  return self->defaults.tag;
}

/**
 * bgt_uploader_set_tag:
 * @self: a #BgtUploader
 * @tag: (nullable): free text
 *
 * Sets #BgtUploader:tag.
 *
 * Since: 0.1
 */
void
bgt_uploader_set_tag (BgtUploader *self, const char *tag)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  _bgt_request_set_string (G_OBJECT (self), props[BGT_REQUEST_PROP_TAG], &self->defaults.tag, tag);
}

/**
 * bgt_uploader_get_start:
 * @self: a #BgtUploader
 *
 * Gets the #BgtUploader:start.
 *
 * Returns: whether new uploads start at once
 *
 * Since: 1.0
 */
gboolean
bgt_uploader_get_start (BgtUploader *self)
{
  g_return_val_if_fail (BGT_IS_UPLOADER (self), TRUE);
  return self->defaults.start;
}

/**
 * bgt_uploader_set_start:
 * @self: a #BgtUploader
 * @start: whether new uploads start at once
 *
 * Sets #BgtUploader:start.
 *
 * Since: 1.0
 */
void
bgt_uploader_set_start (BgtUploader *self, gboolean start)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  _bgt_request_set_int (G_OBJECT (self), props[BGT_REQUEST_PROP_START],
                        (int *) &self->defaults.start, start);
}

/**
 * bgt_uploader_get_completion_group:
 * @self: a #BgtUploader
 *
 * Gets the #BgtUploader:completion-group.
 *
 * Returns: (transfer none) (nullable): the completion group of new uploads
 *
 * Since: 1.0
 */
BgtCompletionGroup *
bgt_uploader_get_completion_group (BgtUploader *self)
{
  g_return_val_if_fail (BGT_IS_UPLOADER (self), NULL);
  return self->defaults.completion_group;
}

/**
 * bgt_uploader_set_completion_group:
 * @self: a #BgtUploader
 * @completion_group: (nullable): a #BgtCompletionGroup
 *
 * Sets #BgtUploader:completion-group.
 *
 * Since: 1.0
 */
void
bgt_uploader_set_completion_group (BgtUploader *self, BgtCompletionGroup *completion_group)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  g_return_if_fail (completion_group == NULL || BGT_IS_COMPLETION_GROUP (completion_group));
  _bgt_request_set_object (G_OBJECT (self), props[BGT_REQUEST_PROP_COMPLETION_GROUP],
                           &self->defaults.completion_group, completion_group);
}

/**
 * bgt_uploader_get_max_rate:
 * @self: a #BgtUploader
 *
 * Gets the #BgtUploader:max-rate.
 *
 * Returns: the rate limit of new uploads, 0 for none
 *
 * Since: 1.0
 */
gint64
bgt_uploader_get_max_rate (BgtUploader *self)
{
  g_return_val_if_fail (BGT_IS_UPLOADER (self), 0);
  return self->defaults.max_rate;
}

/**
 * bgt_uploader_set_max_rate:
 * @self: a #BgtUploader
 * @max_rate: bytes per second, 0 for no limit
 *
 * Sets #BgtUploader:max-rate.
 *
 * Since: 1.0
 */
void
bgt_uploader_set_max_rate (BgtUploader *self, gint64 max_rate)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  g_return_if_fail (max_rate >= 0);
  _bgt_request_set_int64 (G_OBJECT (self), props[BGT_REQUEST_PROP_MAX_RATE],
                          &self->defaults.max_rate, max_rate);
}

/**
 * bgt_uploader_get_method:
 * @self: a #BgtUploader
 *
 * Gets the #BgtUploader:method.
 *
 * Returns: (nullable): the method of new uploads, %NULL for the default
 *
 * Since: 1.0
 */
const char *
bgt_uploader_get_method (BgtUploader *self)
{
  g_return_val_if_fail (BGT_IS_UPLOADER (self), NULL);
  return self->defaults.method;
}

/**
 * bgt_uploader_set_method:
 * @self: a #BgtUploader
 * @method: (nullable): "POST" (the default) or "PUT"
 *
 * Sets #BgtUploader:method.
 *
 * Since: 0.1
 */
void
bgt_uploader_set_method (BgtUploader *self, const char *method)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  _bgt_request_set_string (G_OBJECT (self), props[BGT_REQUEST_PROP_METHOD], &self->defaults.method,
                           method);
}

/**
 * bgt_uploader_get_show_notifications:
 * @self: a #BgtUploader
 *
 * Gets the #BgtUploader:show-notifications.
 *
 * Returns: whether new uploads show a notification at the end
 *
 * Since: 1.0
 */
gboolean
bgt_uploader_get_show_notifications (BgtUploader *self)
{
  g_return_val_if_fail (BGT_IS_UPLOADER (self), FALSE);
  return self->defaults.show_notifications;
}

/**
 * bgt_uploader_set_show_notifications:
 * @self: a #BgtUploader
 * @show_notifications: whether to show a notification at the end
 *
 * Sets #BgtUploader:show-notifications.
 *
 * Since: 1.0
 */
void
bgt_uploader_set_show_notifications (BgtUploader *self, gboolean show_notifications)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  _bgt_request_set_int (G_OBJECT (self), props[BGT_REQUEST_PROP_SHOW_NOTIFICATIONS],
                        (int *) &self->defaults.show_notifications, show_notifications);
}

/**
 * bgt_uploader_set_notification_texts:
 * @self: a #BgtUploader
 * @success_title: (nullable): the title when a transfer completed
 * @success_body: (nullable): the body when a transfer completed
 * @failure_title: (nullable): the title when a transfer failed
 * @failure_body: (nullable): the body when a transfer failed
 *
 * Sets the four texts of the notifications at once, and turns
 * #BgtUploader:show-notifications on. %NULL stands for the service's own
 * text.
 *
 * Since: 1.0
 */
void
bgt_uploader_set_notification_texts (BgtUploader *self, const char *success_title,
                                     const char *success_body, const char *failure_title,
                                     const char *failure_body)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  g_object_freeze_notify (G_OBJECT (self));
  _bgt_request_set_notification_texts (G_OBJECT (self), &self->defaults, props, success_title,
                                       success_body, failure_title, failure_body);
  bgt_uploader_set_show_notifications (self, TRUE);
  g_object_thaw_notify (G_OBJECT (self));
}

/**
 * bgt_uploader_set_request_header:
 * @self: a #BgtUploader
 * @name: a header name
 * @value: (nullable): its value, or %NULL to stop sending it
 *
 * Sets a header sent with new uploads. Values of Authorization,
 * Proxy-Authorization and Cookie are kept secret by the service.
 *
 * Since: 0.1
 */
void
bgt_uploader_set_request_header (BgtUploader *self, const char *name, const char *value)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  g_return_if_fail (name != NULL);
  _bgt_request_defaults_set_header (&self->defaults, name, value);
}

/**
 * bgt_uploader_set_server_credential:
 * @self: a #BgtUploader
 * @username: (nullable): the user name, or %NULL for none
 * @password: (nullable): the password
 *
 * Sets the credentials new uploads answer a server's Basic or Digest
 * challenge with. The service keeps them in the Secret Service; they
 * cannot be read back.
 *
 * Since: 0.1
 */
void
bgt_uploader_set_server_credential (BgtUploader *self, const char *username, const char *password)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  _bgt_request_defaults_set_credential (&self->defaults, FALSE, username, password);
}

/**
 * bgt_uploader_set_proxy_credential:
 * @self: a #BgtUploader
 * @username: (nullable): the user name, or %NULL for none
 * @password: (nullable): the password
 *
 * Sets the credentials new uploads answer the proxy's Basic or Digest
 * challenge with. The service keeps them in the Secret Service; they
 * cannot be read back.
 *
 * Since: 1.0
 */
void
bgt_uploader_set_proxy_credential (BgtUploader *self, const char *username, const char *password)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  _bgt_request_defaults_set_credential (&self->defaults, TRUE, username, password);
}

/**
 * bgt_uploader_get_resumable:
 * @self: a #BgtUploader
 *
 * Gets the #BgtUploader:resumable.
 *
 * Returns: whether new uploads use the tus protocol
 *
 * Since: 1.0
 */
gboolean
bgt_uploader_get_resumable (BgtUploader *self)
{
  g_return_val_if_fail (BGT_IS_UPLOADER (self), FALSE);
  return self->resumable;
}

/**
 * bgt_uploader_set_resumable:
 * @self: a #BgtUploader
 * @resumable: whether to use the tus protocol, which resumes after interruptions
 *
 * Sets #BgtUploader:resumable.
 *
 * Since: 0.1
 */
void
bgt_uploader_set_resumable (BgtUploader *self, gboolean resumable)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  _bgt_request_set_int (G_OBJECT (self), props[PROP_RESUMABLE], &self->resumable, resumable);
}

/**
 * bgt_uploader_get_response_destination:
 * @self: a #BgtUploader
 *
 * Gets the #BgtUploader:response-destination.
 *
 * Returns: (transfer none) (nullable): the #BgtUploader:response-destination
 *
 * Since: 1.0
 */
GFile *
bgt_uploader_get_response_destination (BgtUploader *self)
{
  g_return_val_if_fail (BGT_IS_UPLOADER (self), NULL);
  return self->response_destination;
}

/**
 * bgt_uploader_set_response_destination:
 * @self: a #BgtUploader
 * @file: (nullable): a local file for the server's reply body, or %NULL to
 *   have the service keep it (see #BgtUpload)
 *
 * Where the body of the server's reply goes. The file must not exist yet;
 * it appears only once the upload has completed. Replaces a file
 * descriptor given before.
 *
 * Since: 0.1
 */
void
bgt_uploader_set_response_destination (BgtUploader *self, GFile *file)
{
  g_return_if_fail (BGT_IS_UPLOADER (self));
  g_return_if_fail (file == NULL || G_IS_FILE (file));
  if (self->response_destination_fd >= 0)
    {
      g_close (self->response_destination_fd, NULL);
      self->response_destination_fd = -1;
    }
  if (g_set_object (&self->response_destination, file))
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RESPONSE_DESTINATION]);
}

/**
 * bgt_uploader_set_response_destination_fd:
 * @self: a #BgtUploader
 * @fd: a file opened for writing, or -1 for none; the uploader keeps a
 *   duplicate, the caller keeps @fd
 * @error: return location for a #GError
 *
 * Sends the body of the server's reply to new uploads into a file the
 * caller opened: the way a sandboxed application names it. Replaces
 * #BgtUploader:response-destination (which becomes %NULL).
 *
 * Returns: %TRUE, or %FALSE with @error set if @fd cannot be duplicated
 *
 * Since: 1.0
 */
gboolean
bgt_uploader_set_response_destination_fd (BgtUploader *self, int fd, GError **error)
{
  int copy = -1;

  g_return_val_if_fail (BGT_IS_UPLOADER (self), FALSE);
  if (fd >= 0)
    {
      copy = fcntl (fd, F_DUPFD_CLOEXEC, 3);
      if (copy < 0)
        {
          int saved_errno = errno;

          g_set_error (error, BGT_ERROR, BGT_ERROR_INVALID_ARGUMENT, "Invalid fd: %s",
                       g_strerror (saved_errno));
          return FALSE;
        }
    }
  bgt_uploader_set_response_destination (self, NULL);
  self->response_destination_fd = copy;
  return TRUE;
}

/* Adds what every upload of this uploader takes; an fd goes into @fd_list */
static gboolean
build_options (BgtUploader *self, GVariantBuilder *options, GUnixFDList *fd_list, GError **error)
{
  g_variant_builder_init (options, G_VARIANT_TYPE_VARDICT);
  _bgt_request_defaults_add_options (&self->defaults, options);
  if (self->resumable)
    g_variant_builder_add (options, "{sv}", "protocol", g_variant_new_string ("tus"));
  if (self->response_destination != NULL)
    {
      g_autofree char *path = g_file_get_path (self->response_destination);

      /* A file with no local path is refused by the service as empty */
      g_variant_builder_add (options, "{sv}", "response-destination",
                             g_variant_new_string (path != NULL ? path : ""));
    }
  else if (self->response_destination_fd >= 0)
    {
      int index = g_unix_fd_list_append (fd_list, self->response_destination_fd, error);

      if (index < 0)
        {
          g_variant_builder_clear (options);
          return FALSE;
        }
      g_variant_builder_add (options, "{sv}", "response-destination", g_variant_new_handle (index));
    }
  return TRUE;
}

static void
create_upload (BgtUploader *self, const char *uri, GVariantBuilder *options, GUnixFDList *fd_list,
               gpointer source_tag, GCancellable *cancellable, GAsyncReadyCallback callback,
               gpointer user_data)
{
  _bgt_create_transfer (&self->defaults, "CreateUpload", uri, options,
                        g_unix_fd_list_get_length (fd_list) > 0 ? fd_list : NULL, self, source_tag,
                        cancellable, callback, user_data);
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
 * Hands an upload of one file to the service.
 *
 * Since: 0.1
 */
void
bgt_uploader_create_upload_async (BgtUploader *self, const char *uri, GFile *source,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  g_autoptr (GUnixFDList) fd_list = g_unix_fd_list_new ();
  g_autofree char *path = NULL;
  GError *error = NULL;
  GVariantBuilder options;

  g_return_if_fail (BGT_IS_UPLOADER (self));
  g_return_if_fail (uri != NULL);
  g_return_if_fail (G_IS_FILE (source));

  if (!build_options (self, &options, fd_list, &error))
    {
      g_task_report_error (self, callback, user_data, bgt_uploader_create_upload_async, error);
      return;
    }
  path = g_file_get_path (source);
  g_variant_builder_add (&options, "{sv}", "source",
                         g_variant_new_string (path != NULL ? path : ""));
  create_upload (self, uri, &options, fd_list, bgt_uploader_create_upload_async, cancellable,
                 callback, user_data);
}

/**
 * bgt_uploader_create_upload_finish:
 * @self: a #BgtUploader
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_uploader_create_upload_async().
 *
 * Returns: (transfer full): the upload, or %NULL with @error set
 *
 * Since: 0.1
 */
BgtUpload *
bgt_uploader_create_upload_finish (BgtUploader *self, GAsyncResult *result, GError **error)
{
  return _bgt_create_transfer_finish (self, result, bgt_uploader_create_upload_async, error);
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
 * Hands the service an upload of a file the caller opened: the way a
 * sandboxed application names its source.
 *
 * Since: 0.1
 */
void
bgt_uploader_create_upload_for_fd_async (BgtUploader *self, const char *uri, int fd,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data)
{
  g_autoptr (GUnixFDList) fd_list = g_unix_fd_list_new ();
  GError *error = NULL;
  GVariantBuilder options;
  int index;

  g_return_if_fail (BGT_IS_UPLOADER (self));
  g_return_if_fail (uri != NULL);

  if (!build_options (self, &options, fd_list, &error))
    {
      g_task_report_error (self, callback, user_data, bgt_uploader_create_upload_for_fd_async,
                           error);
      return;
    }
  index = g_unix_fd_list_append (fd_list, fd, &error);
  if (index < 0)
    {
      g_variant_builder_clear (&options);
      g_task_report_new_error (self, callback, user_data, bgt_uploader_create_upload_for_fd_async,
                               BGT_ERROR, BGT_ERROR_INVALID_ARGUMENT, "Invalid fd: %s",
                               error->message);
      g_error_free (error);
      return;
    }
  g_variant_builder_add (&options, "{sv}", "source-fd", g_variant_new_handle (index));
  create_upload (self, uri, &options, fd_list, bgt_uploader_create_upload_for_fd_async, cancellable,
                 callback, user_data);
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
  return _bgt_create_transfer_finish (self, result, bgt_uploader_create_upload_for_fd_async, error);
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
 * A multipart/form-data upload, streamed from the parts' files and file
 * descriptors.
 *
 * Since: 0.1
 */
void
bgt_uploader_create_multipart_upload_async (BgtUploader *self, const char *uri,
                                            BgtContentPart **parts, guint n_parts,
                                            GCancellable *cancellable, GAsyncReadyCallback callback,
                                            gpointer user_data)
{
  g_autoptr (GUnixFDList) fd_list = g_unix_fd_list_new ();
  GError *error = NULL;
  GVariantBuilder options;
  GVariantBuilder list;

  g_return_if_fail (BGT_IS_UPLOADER (self));
  g_return_if_fail (uri != NULL);
  g_return_if_fail (parts != NULL || n_parts == 0);

  if (!build_options (self, &options, fd_list, &error))
    {
      g_task_report_error (self, callback, user_data, bgt_uploader_create_multipart_upload_async,
                           error);
      return;
    }
  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < n_parts; i++)
    {
      GVariant *part = _bgt_content_part_to_variant (parts[i], fd_list, &error);

      if (part == NULL)
        {
          g_variant_builder_clear (&list);
          g_variant_builder_clear (&options);
          g_task_report_error (self, callback, user_data,
                               bgt_uploader_create_multipart_upload_async, error);
          return;
        }
      g_variant_builder_add_value (&list, part);
    }
  g_variant_builder_add (&options, "{sv}", "parts", g_variant_builder_end (&list));
  create_upload (self, uri, &options, fd_list, bgt_uploader_create_multipart_upload_async,
                 cancellable, callback, user_data);
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
  return _bgt_create_transfer_finish (self, result, bgt_uploader_create_multipart_upload_async,
                                      error);
}
