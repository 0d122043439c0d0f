/* bgt-downloader.c: creates downloads
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gunixfdlist.h>

#include "bgt-private.h"
#include "bgt-request.h"

/**
 * BgtDownloader:
 *
 * Creates downloads with shared defaults (WinRT's BackgroundDownloader):
 * headers, cost policy, priority, group, credentials, completion group,
 * rate limit, notifications, and the options of downloads alone. Change
 * the defaults between two downloads as you like; a download keeps the
 * ones it was created with. #BgtUploader has the same properties for what
 * uploads share with downloads.
 *
 * Since: 0.1
 */
struct _BgtDownloader
{
  GObject parent_instance;

  BgtRequestDefaults defaults;
  gboolean overwrite;
  char *checksum;
  GStrv mirrors;
  guint connections;
  gboolean random_access;
  BgtIfChanged if_changed;
};

enum
{
  PROP_OVERWRITE = BGT_REQUEST_N_PROPS,
  PROP_CHECKSUM,
  PROP_MIRRORS,
  PROP_CONNECTIONS,
  PROP_RANDOM_ACCESS,
  PROP_IF_CHANGED,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (BgtDownloader, bgt_downloader, G_TYPE_OBJECT)

static void
bgt_downloader_finalize (GObject *object)
{
  BgtDownloader *self = BGT_DOWNLOADER (object);

  _bgt_request_defaults_clear (&self->defaults);
  g_free (self->checksum);
  g_strfreev (self->mirrors);
  G_OBJECT_CLASS (bgt_downloader_parent_class)->finalize (object);
}

static void
bgt_downloader_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BgtDownloader *self = BGT_DOWNLOADER (object);

  if (_bgt_request_get_property (&self->defaults, prop_id, value))
    return;
  switch (prop_id)
    {
      case PROP_OVERWRITE:
        g_value_set_boolean (value, self->overwrite);
        break;
      case PROP_CHECKSUM:
        g_value_set_string (value, self->checksum);
        break;
      case PROP_MIRRORS:
        g_value_set_boxed (value, self->mirrors);
        break;
      case PROP_CONNECTIONS:
        g_value_set_uint (value, self->connections);
        break;
      case PROP_RANDOM_ACCESS:
        g_value_set_boolean (value, self->random_access);
        break;
      case PROP_IF_CHANGED:
        g_value_set_enum (value, self->if_changed);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_downloader_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  BgtDownloader *self = BGT_DOWNLOADER (object);

  if (_bgt_request_set_property (object, &self->defaults, props, prop_id, value))
    return;
  switch (prop_id)
    {
      case PROP_OVERWRITE:
        bgt_downloader_set_overwrite (self, g_value_get_boolean (value));
        break;
      case PROP_CHECKSUM:
        bgt_downloader_set_checksum (self, g_value_get_string (value));
        break;
      case PROP_MIRRORS:
        bgt_downloader_set_mirrors (self, g_value_get_boxed (value));
        break;
      case PROP_CONNECTIONS:
        bgt_downloader_set_connections (self, g_value_get_uint (value));
        break;
      case PROP_RANDOM_ACCESS:
        bgt_downloader_set_random_access (self, g_value_get_boolean (value));
        break;
      case PROP_IF_CHANGED:
        bgt_downloader_set_if_changed (self, g_value_get_enum (value));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_downloader_class_init (BgtDownloaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = bgt_downloader_finalize;
  object_class->get_property = bgt_downloader_get_property;
  object_class->set_property = bgt_downloader_set_property;

  /* The properties downloads and uploads share (see BgtUploader) */
  /**
   * BgtDownloader:client:
   *
   * The client downloads are created with.
   *
   * Since: 0.1
   */
  /**
   * BgtDownloader:cost-policy:
   *
   * On which networks new downloads may run.
   *
   * Since: 0.1
   */
  /**
   * BgtDownloader:priority:
   *
   * The priority of new downloads.
   *
   * Since: 0.1
   */
  /**
   * BgtDownloader:group:
   *
   * The transfer group of new downloads: the #BgtTransferGroup:name of a
   * #BgtTransferGroup, or %NULL for none.
   *
   * Since: 0.1
   */
  /**
   * BgtDownloader:tag:
   *
   * Free text of the application for new downloads.
   *
   * Since: 0.1
   */
  /**
   * BgtDownloader:start:
   *
   * Whether new downloads start at once; otherwise they stay
   * %BGT_STATUS_IDLE until bgt_transfer_start_async().
   *
   * Since: 0.1
   */
  /**
   * BgtDownloader:completion-group:
   *
   * The #BgtCompletionGroup new downloads join, or %NULL for none. The
   * group must not be enabled yet.
   *
   * Since: 1.0
   */
  /**
   * BgtDownloader:max-rate:
   *
   * The most bytes per second each new download may move, 0 for no
   * limit of its own (the service's global limits apply anyway).
   *
   * Since: 1.0
   */
  /**
   * BgtDownloader:method:
   *
   * The HTTP method of new downloads, %NULL for GET.
   *
   * Since: 1.0
   */
  /**
   * BgtDownloader:show-notifications:
   *
   * Whether the desktop shows a notification when a new download
   * ends. The texts are the #BgtDownloader:notify-success-title and the
   * others, or the service's own for those that are %NULL.
   *
   * Since: 1.0
   */
  /**
   * BgtDownloader:notify-success-title:
   *
   * The title of the notification when a new download completed, or
   * %NULL for the service's; see #BgtDownloader:show-notifications.
   *
   * Since: 1.0
   */
  /**
   * BgtDownloader:notify-success-body:
   *
   * The body of the notification when a new download completed, or
   * %NULL for the service's.
   *
   * Since: 1.0
   */
  /**
   * BgtDownloader:notify-failure-title:
   *
   * The title of the notification when a new download failed, or
   * %NULL for the service's.
   *
   * Since: 1.0
   */
  /**
   * BgtDownloader:notify-failure-body:
   *
   * The body of the notification when a new download failed, or
   * %NULL for the service's.
   *
   * Since: 1.0
   */
  _bgt_request_install_properties (props);

  /**
   * BgtDownloader:overwrite:
   *
   * Whether new downloads may replace an existing destination file.
   *
   * Since: 0.1
   */
  props[PROP_OVERWRITE] = g_param_spec_boolean ("overwrite", NULL, NULL, FALSE, BGT_REQUEST_RW);
  /**
   * BgtDownloader:checksum:
   *
   * "sha256:HEX" or "sha512:HEX" that new downloads must match before
   * they are renamed into place, or %NULL.
   *
   * Since: 0.1
   */
  props[PROP_CHECKSUM] = g_param_spec_string ("checksum", NULL, NULL, NULL, BGT_REQUEST_RW);
  /**
   * BgtDownloader:mirrors:
   *
   * Further URIs of the same resource for new downloads, tried in turn
   * after a failure (not after 401, 403 or a local error), and used for
   * segments at once when they agree on size and validator; %NULL for
   * none.
   *
   * Since: 1.0
   */
  props[PROP_MIRRORS] = g_param_spec_boxed ("mirrors", NULL, NULL, G_TYPE_STRV, BGT_REQUEST_RW);
  /**
   * BgtDownloader:connections:
   *
   * How many connections a new download may use at once (a segmented
   * download, 1 to 16), or 0 for the service's default
   * (`connections-per-download`). The service segments only when the
   * server answers ranges with a strong validator and a known size.
   *
   * Since: 1.0
   */
  props[PROP_CONNECTIONS] = g_param_spec_uint ("connections", NULL, NULL, 0, 16, 0, BGT_REQUEST_RW);
  /**
   * BgtDownloader:random-access:
   *
   * Whether new downloads let a reader of their data ask for any range
   * first, as a media player seeks.
   *
   * Since: 1.0
   */
  props[PROP_RANDOM_ACCESS]
      = g_param_spec_boolean ("random-access", NULL, NULL, FALSE, BGT_REQUEST_RW);
  /**
   * BgtDownloader:if-changed:
   *
   * What new downloads do when the resource changes on the server between
   * two attempts: start again (the default), or fail with
   * %BGT_ERROR_STATUS_RESOURCE_CHANGED.
   *
   * Since: 1.0
   */
  props[PROP_IF_CHANGED] = g_param_spec_enum ("if-changed", NULL, NULL, BGT_TYPE_IF_CHANGED,
                                              BGT_IF_CHANGED_RESTART, BGT_REQUEST_RW);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
bgt_downloader_init (BgtDownloader *self)
{
  _bgt_request_defaults_init (&self->defaults);
  self->if_changed = BGT_IF_CHANGED_RESTART;
}

/**
 * bgt_downloader_new:
 * @client: a #BgtClient
 *
 * Creates a downloader with the default options.
 *
 * Returns: (transfer full): a new downloader
 *
 * Since: 0.1
 */
BgtDownloader *
bgt_downloader_new (BgtClient *client)
{
  g_return_val_if_fail (BGT_IS_CLIENT (client), NULL);
  return g_object_new (BGT_TYPE_DOWNLOADER, "client", client, NULL);
}

/**
 * bgt_downloader_get_client:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:client.
 *
 * Returns: (transfer none): the client
 *
 * Since: 0.1
 */
BgtClient *
bgt_downloader_get_client (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), NULL);
  return self->defaults.client;
}

/**
 * bgt_downloader_get_cost_policy:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:cost-policy.
 *
 * Returns: the cost policy of new downloads
 *
 * Since: 0.1
 */
BgtCostPolicy
bgt_downloader_get_cost_policy (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), BGT_COST_POLICY_DEFAULT);
  return self->defaults.cost_policy;
}

/**
 * bgt_downloader_set_cost_policy:
 * @self: a #BgtDownloader
 * @cost_policy: a #BgtCostPolicy
 *
 * Sets #BgtDownloader:cost-policy.
 *
 * Since: 0.1
 */
void
bgt_downloader_set_cost_policy (BgtDownloader *self, BgtCostPolicy cost_policy)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_set_int (G_OBJECT (self), props[BGT_REQUEST_PROP_COST_POLICY],
                        (int *) &self->defaults.cost_policy, cost_policy);
}

/**
 * bgt_downloader_get_priority:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:priority.
 *
 * Returns: the priority of new downloads
 *
 * Since: 0.1
 */
BgtPriority
bgt_downloader_get_priority (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), BGT_PRIORITY_DEFAULT);
  return self->defaults.priority;
}

/**
 * bgt_downloader_set_priority:
 * @self: a #BgtDownloader
 * @priority: a #BgtPriority
 *
 * Sets #BgtDownloader:priority.
 *
 * Since: 0.1
 */
void
bgt_downloader_set_priority (BgtDownloader *self, BgtPriority priority)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_set_int (G_OBJECT (self), props[BGT_REQUEST_PROP_PRIORITY],
                        (int *) &self->defaults.priority, priority);
}

/**
 * bgt_downloader_get_group:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:group.
 *
 * Returns: (nullable): the transfer group of new downloads
 *
 * Since: 0.1
 */
const char *
bgt_downloader_get_group (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), NULL);
  return self->defaults.group;
}

/**
 * bgt_downloader_set_group:
 * @self: a #BgtDownloader
 * @group: (nullable): a transfer group name
 *
 * Sets #BgtDownloader:group.
 *
 * Since: 0.1
 */
void
bgt_downloader_set_group (BgtDownloader *self, const char *group)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_set_string (G_OBJECT (self), props[BGT_REQUEST_PROP_GROUP], &self->defaults.group,
                           group);
}

/**
 * bgt_downloader_get_tag:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:tag.
 *
 * Returns: (nullable): the tag of new downloads
 *
 * Since: 0.1
 */
const char *
bgt_downloader_get_tag (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), NULL);
  return self->defaults.tag;
}

/**
 * bgt_downloader_set_tag:
 * @self: a #BgtDownloader
 * @tag: (nullable): free text
 *
 * Sets #BgtDownloader:tag.
 *
 * Since: 0.1
 */
void
bgt_downloader_set_tag (BgtDownloader *self, const char *tag)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_set_string (G_OBJECT (self), props[BGT_REQUEST_PROP_TAG], &self->defaults.tag, tag);
}

/**
 * bgt_downloader_get_start:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:start.
 *
 * Returns: whether new downloads start at once
 *
 * Since: 0.1
 */
gboolean
bgt_downloader_get_start (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), TRUE);
  return self->defaults.start;
}

/**
 * bgt_downloader_set_start:
 * @self: a #BgtDownloader
 * @start: whether new downloads start at once
 *
 * Sets #BgtDownloader:start.
 *
 * Since: 0.1
 */
void
bgt_downloader_set_start (BgtDownloader *self, gboolean start)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_set_int (G_OBJECT (self), props[BGT_REQUEST_PROP_START],
                        (int *) &self->defaults.start, start);
}

/**
 * bgt_downloader_get_completion_group:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:completion-group.
 *
 * Returns: (transfer none) (nullable): the completion group of new downloads
 *
 * Since: 1.0
 */
BgtCompletionGroup *
bgt_downloader_get_completion_group (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), NULL);
  return self->defaults.completion_group;
}

/**
 * bgt_downloader_set_completion_group:
 * @self: a #BgtDownloader
 * @completion_group: (nullable): a #BgtCompletionGroup
 *
 * Sets #BgtDownloader:completion-group.
 *
 * Since: 1.0
 */
void
bgt_downloader_set_completion_group (BgtDownloader *self, BgtCompletionGroup *completion_group)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  g_return_if_fail (completion_group == NULL || BGT_IS_COMPLETION_GROUP (completion_group));
  _bgt_request_set_object (G_OBJECT (self), props[BGT_REQUEST_PROP_COMPLETION_GROUP],
                           &self->defaults.completion_group, completion_group);
}

/**
 * bgt_downloader_get_max_rate:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:max-rate.
 *
 * Returns: the rate limit of new downloads, 0 for none
 *
 * Since: 1.0
 */
gint64
bgt_downloader_get_max_rate (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), 0);
  return self->defaults.max_rate;
}

/**
 * bgt_downloader_set_max_rate:
 * @self: a #BgtDownloader
 * @max_rate: bytes per second, 0 for no limit
 *
 * Sets #BgtDownloader:max-rate.
 *
 * Since: 1.0
 */
void
bgt_downloader_set_max_rate (BgtDownloader *self, gint64 max_rate)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  g_return_if_fail (max_rate >= 0);
  _bgt_request_set_int64 (G_OBJECT (self), props[BGT_REQUEST_PROP_MAX_RATE],
                          &self->defaults.max_rate, max_rate);
}

/**
 * bgt_downloader_get_method:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:method.
 *
 * Returns: (nullable): the method of new downloads, %NULL for the default
 *
 * Since: 1.0
 */
const char *
bgt_downloader_get_method (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), NULL);
  return self->defaults.method;
}

/**
 * bgt_downloader_set_method:
 * @self: a #BgtDownloader
 * @method: (nullable): "GET" (the default) or another method
 *
 * Sets #BgtDownloader:method.
 *
 * Since: 1.0
 */
void
bgt_downloader_set_method (BgtDownloader *self, const char *method)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_set_string (G_OBJECT (self), props[BGT_REQUEST_PROP_METHOD], &self->defaults.method,
                           method);
}

/**
 * bgt_downloader_get_show_notifications:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:show-notifications.
 *
 * Returns: whether new downloads show a notification at the end
 *
 * Since: 1.0
 */
gboolean
bgt_downloader_get_show_notifications (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), FALSE);
  return self->defaults.show_notifications;
}

/**
 * bgt_downloader_set_show_notifications:
 * @self: a #BgtDownloader
 * @show_notifications: whether to show a notification at the end
 *
 * Sets #BgtDownloader:show-notifications.
 *
 * Since: 1.0
 */
void
bgt_downloader_set_show_notifications (BgtDownloader *self, gboolean show_notifications)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_set_int (G_OBJECT (self), props[BGT_REQUEST_PROP_SHOW_NOTIFICATIONS],
                        (int *) &self->defaults.show_notifications, show_notifications);
}

/**
 * bgt_downloader_set_notification_texts:
 * @self: a #BgtDownloader
 * @success_title: (nullable): the title when a transfer completed
 * @success_body: (nullable): the body when a transfer completed
 * @failure_title: (nullable): the title when a transfer failed
 * @failure_body: (nullable): the body when a transfer failed
 *
 * Sets the four texts of the notifications at once, and turns
 * #BgtDownloader:show-notifications on. %NULL stands for the service's own
 * text.
 *
 * Since: 1.0
 */
void
bgt_downloader_set_notification_texts (BgtDownloader *self, const char *success_title,
                                       const char *success_body, const char *failure_title,
                                       const char *failure_body)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  g_object_freeze_notify (G_OBJECT (self));
  _bgt_request_set_notification_texts (G_OBJECT (self), &self->defaults, props, success_title,
                                       success_body, failure_title, failure_body);
  bgt_downloader_set_show_notifications (self, TRUE);
  g_object_thaw_notify (G_OBJECT (self));
}

/**
 * bgt_downloader_set_request_header:
 * @self: a #BgtDownloader
 * @name: a header name
 * @value: (nullable): its value, or %NULL to stop sending it
 *
 * Sets a header sent with new downloads. Values of Authorization,
 * Proxy-Authorization and Cookie are kept secret by the service.
 *
 * Since: 0.1
 */
void
bgt_downloader_set_request_header (BgtDownloader *self, const char *name, const char *value)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  g_return_if_fail (name != NULL);
  _bgt_request_defaults_set_header (&self->defaults, name, value);
}

/**
 * bgt_downloader_set_server_credential:
 * @self: a #BgtDownloader
 * @username: (nullable): the user name, or %NULL for none
 * @password: (nullable): the password
 *
 * Sets the credentials new downloads answer a server's Basic or Digest
 * challenge with. The service keeps them in the Secret Service; they
 * cannot be read back.
 *
 * Since: 0.1
 */
void
bgt_downloader_set_server_credential (BgtDownloader *self, const char *username,
                                      const char *password)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_defaults_set_credential (&self->defaults, FALSE, username, password);
}

/**
 * bgt_downloader_set_proxy_credential:
 * @self: a #BgtDownloader
 * @username: (nullable): the user name, or %NULL for none
 * @password: (nullable): the password
 *
 * Sets the credentials new downloads answer the proxy's Basic or Digest
 * challenge with. The service keeps them in the Secret Service; they
 * cannot be read back.
 *
 * Since: 1.0
 */
void
bgt_downloader_set_proxy_credential (BgtDownloader *self, const char *username,
                                     const char *password)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_defaults_set_credential (&self->defaults, TRUE, username, password);
}

/**
 * bgt_downloader_get_overwrite:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:overwrite.
 *
 * Returns: whether new downloads may replace an existing file
 *
 * Since: 0.1
 */
gboolean
bgt_downloader_get_overwrite (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), FALSE);
  return self->overwrite;
}

/**
 * bgt_downloader_set_overwrite:
 * @self: a #BgtDownloader
 * @overwrite: whether to replace an existing file
 *
 * Sets #BgtDownloader:overwrite.
 *
 * Since: 0.1
 */
void
bgt_downloader_set_overwrite (BgtDownloader *self, gboolean overwrite)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_set_int (G_OBJECT (self), props[PROP_OVERWRITE], &self->overwrite, overwrite);
}

/**
 * bgt_downloader_get_checksum:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:checksum.
 *
 * Returns: (nullable): the checksum of the next downloads
 *
 * Since: 0.1
 */
const char *
bgt_downloader_get_checksum (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), NULL);
  return self->checksum;
}

/**
 * bgt_downloader_set_checksum:
 * @self: a #BgtDownloader
 * @checksum: (nullable): "sha256:HEX" or "sha512:HEX"
 *
 * Sets #BgtDownloader:checksum.
 *
 * Since: 0.1
 */
void
bgt_downloader_set_checksum (BgtDownloader *self, const char *checksum)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_set_string (G_OBJECT (self), props[PROP_CHECKSUM], &self->checksum, checksum);
}

/**
 * bgt_downloader_get_mirrors:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:mirrors.
 *
 * Returns: (transfer none) (nullable) (array zero-terminated=1): the
 *   #BgtDownloader:mirrors
 *
 * Since: 1.0
 */
const char *const *
bgt_downloader_get_mirrors (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), NULL);
  return (const char *const *) self->mirrors;
}

/**
 * bgt_downloader_set_mirrors:
 * @self: a #BgtDownloader
 * @mirrors: (nullable) (array zero-terminated=1): further URIs of the
 *   same resource
 *
 * Sets #BgtDownloader:mirrors.
 *
 * Since: 1.0
 */
void
bgt_downloader_set_mirrors (BgtDownloader *self, const char *const *mirrors)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_set_strv (G_OBJECT (self), props[PROP_MIRRORS], &self->mirrors, mirrors);
}

/**
 * bgt_downloader_get_connections:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:connections.
 *
 * Returns: the #BgtDownloader:connections
 *
 * Since: 1.0
 */
guint
bgt_downloader_get_connections (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), 0);
  return self->connections;
}

/**
 * bgt_downloader_set_connections:
 * @self: a #BgtDownloader
 * @connections: 1 to 16, or 0 for the service's default
 *
 * Sets #BgtDownloader:connections.
 *
 * Since: 1.0
 */
void
bgt_downloader_set_connections (BgtDownloader *self, guint connections)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  g_return_if_fail (connections <= 16);
  _bgt_request_set_int (G_OBJECT (self), props[PROP_CONNECTIONS], (int *) &self->connections,
                        (int) connections);
}

/**
 * bgt_downloader_get_random_access:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:random-access.
 *
 * Returns: the #BgtDownloader:random-access
 *
 * Since: 1.0
 */
gboolean
bgt_downloader_get_random_access (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), FALSE);
  return self->random_access;
}

/**
 * bgt_downloader_set_random_access:
 * @self: a #BgtDownloader
 * @random_access: whether readers may ask for any range first
 *
 * Sets #BgtDownloader:random-access.
 *
 * Since: 1.0
 */
void
bgt_downloader_set_random_access (BgtDownloader *self, gboolean random_access)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_set_int (G_OBJECT (self), props[PROP_RANDOM_ACCESS], &self->random_access,
                        random_access);
}

/**
 * bgt_downloader_get_if_changed:
 * @self: a #BgtDownloader
 *
 * Gets the #BgtDownloader:if-changed.
 *
 * Returns: the #BgtDownloader:if-changed
 *
 * Since: 1.0
 */
BgtIfChanged
bgt_downloader_get_if_changed (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), BGT_IF_CHANGED_RESTART);
  return self->if_changed;
}

/**
 * bgt_downloader_set_if_changed:
 * @self: a #BgtDownloader
 * @if_changed: a #BgtIfChanged
 *
 * Sets #BgtDownloader:if-changed.
 *
 * Since: 1.0
 */
void
bgt_downloader_set_if_changed (BgtDownloader *self, BgtIfChanged if_changed)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_set_int (G_OBJECT (self), props[PROP_IF_CHANGED], (int *) &self->if_changed,
                        if_changed);
}

static void
build_options (BgtDownloader *self, GVariantBuilder *options)
{
  g_variant_builder_init (options, G_VARIANT_TYPE_VARDICT);
  _bgt_request_defaults_add_options (&self->defaults, options);
  if (self->overwrite)
    g_variant_builder_add (options, "{sv}", "overwrite", g_variant_new_boolean (TRUE));
  if (self->checksum != NULL)
    g_variant_builder_add (options, "{sv}", "checksum", g_variant_new_string (self->checksum));
  if (self->mirrors != NULL)
    g_variant_builder_add (options, "{sv}", "mirrors",
                           g_variant_new_strv ((const char *const *) self->mirrors, -1));
  if (self->connections > 0)
    g_variant_builder_add (options, "{sv}", "connections",
                           g_variant_new_uint32 (self->connections));
  if (self->random_access)
    g_variant_builder_add (options, "{sv}", "random-access", g_variant_new_boolean (TRUE));
  if (self->if_changed != BGT_IF_CHANGED_RESTART)
    g_variant_builder_add (
        options, "{sv}", "if-changed",
        g_variant_new_string (_bgt_enum_to_string (BGT_TYPE_IF_CHANGED, self->if_changed)));
}

/**
 * bgt_downloader_create_download_async:
 * @self: a #BgtDownloader
 * @uri: an http, https, ftp or ftps URI
 * @destination: the file to create; its directory must exist
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the download
 * @user_data: data for @callback
 *
 * Hands a download to the service. Invalid arguments are refused before
 * anything is created.
 *
 * Since: 0.1
 */
void
bgt_downloader_create_download_async (BgtDownloader *self, const char *uri, GFile *destination,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  g_autofree char *path = NULL;
  GVariantBuilder options;

  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  g_return_if_fail (uri != NULL);
  g_return_if_fail (G_IS_FILE (destination));

  path = g_file_get_path (destination);
  build_options (self, &options);
  /* A file with no local path is refused by the service as empty */
  g_variant_builder_add (&options, "{sv}", "destination",
                         g_variant_new_string (path != NULL ? path : ""));
  _bgt_create_transfer (&self->defaults, "CreateDownload", uri, &options, NULL, self,
                        bgt_downloader_create_download_async, cancellable, callback, user_data);
}

/**
 * bgt_downloader_create_download_finish:
 * @self: a #BgtDownloader
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_downloader_create_download_async().
 *
 * Returns: (transfer full): the download, or %NULL with @error set
 *
 * Since: 0.1
 */
BgtDownload *
bgt_downloader_create_download_finish (BgtDownloader *self, GAsyncResult *result, GError **error)
{
  return _bgt_create_transfer_finish (self, result, bgt_downloader_create_download_async, error);
}

/**
 * bgt_downloader_create_download_for_fd_async:
 * @self: a #BgtDownloader
 * @uri: an http, https, ftp or ftps URI
 * @fd: a regular file opened for writing (not with O_APPEND); the service
 *   gets a duplicate, the caller keeps @fd
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the download
 * @user_data: data for @callback
 *
 * Hands a download to the service that writes into a file the caller
 * opened: the way a sandboxed application names its destination.
 *
 * Since: 0.1
 */
void
bgt_downloader_create_download_for_fd_async (BgtDownloader *self, const char *uri, int fd,
                                             GCancellable *cancellable,
                                             GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GUnixFDList) fd_list = g_unix_fd_list_new ();
  g_autoptr (GError) error = NULL;
  GVariantBuilder options;
  int index;

  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  g_return_if_fail (uri != NULL);

  index = g_unix_fd_list_append (fd_list, fd, &error);
  if (index < 0)
    {
      g_task_report_new_error (self, callback, user_data,
                               bgt_downloader_create_download_for_fd_async, BGT_ERROR,
                               BGT_ERROR_INVALID_ARGUMENT, "Invalid fd: %s", error->message);
      return;
    }
  build_options (self, &options);
  g_variant_builder_add (&options, "{sv}", "destination-fd", g_variant_new_handle (index));
  _bgt_create_transfer (&self->defaults, "CreateDownload", uri, &options, fd_list, self,
                        bgt_downloader_create_download_for_fd_async, cancellable, callback,
                        user_data);
}

/**
 * bgt_downloader_create_download_for_fd_finish:
 * @self: a #BgtDownloader
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_downloader_create_download_for_fd_async().
 *
 * Returns: (transfer full): the download, or %NULL with @error set
 *
 * Since: 0.1
 */
BgtDownload *
bgt_downloader_create_download_for_fd_finish (BgtDownloader *self, GAsyncResult *result,
                                              GError **error)
{
  return _bgt_create_transfer_finish (self, result, bgt_downloader_create_download_for_fd_async,
                                      error);
}
