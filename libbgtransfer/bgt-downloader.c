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
 * Creates downloads with shared defaults: headers, cost policy, priority,
 * group, credentials. Change the defaults between two downloads as you
 * like; a download keeps the ones it was created with.
 *
 * Since: 0.1
 */
struct _BgtDownloader
{
  GObject parent_instance;

  BgtClient *client;
  BgtRequestDefaults defaults;
  gboolean overwrite;
  char *checksum;
};

enum
{
  PROP_0,
  PROP_CLIENT,
  PROP_COST_POLICY,
  PROP_PRIORITY,
  PROP_GROUP,
  PROP_TAG,
  PROP_OVERWRITE,
  PROP_START,
  PROP_CHECKSUM,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (BgtDownloader, bgt_downloader, G_TYPE_OBJECT)

static void
bgt_downloader_finalize (GObject *object)
{
  BgtDownloader *self = BGT_DOWNLOADER (object);

  g_clear_object (&self->client);
  _bgt_request_defaults_clear (&self->defaults);
  g_free (self->checksum);
  G_OBJECT_CLASS (bgt_downloader_parent_class)->finalize (object);
}

static void
bgt_downloader_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BgtDownloader *self = BGT_DOWNLOADER (object);

  switch (prop_id)
    {
      case PROP_CLIENT:
        g_value_set_object (value, self->client);
        break;
      case PROP_COST_POLICY:
        g_value_set_enum (value, self->defaults.cost_policy);
        break;
      case PROP_PRIORITY:
        g_value_set_enum (value, self->defaults.priority);
        break;
      case PROP_GROUP:
        g_value_set_string (value, self->defaults.group);
        break;
      case PROP_TAG:
        g_value_set_string (value, self->defaults.tag);
        break;
      case PROP_OVERWRITE:
        g_value_set_boolean (value, self->overwrite);
        break;
      case PROP_START:
        g_value_set_boolean (value, self->defaults.start);
        break;
      case PROP_CHECKSUM:
        g_value_set_string (value, self->checksum);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_downloader_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  BgtDownloader *self = BGT_DOWNLOADER (object);

  switch (prop_id)
    {
      case PROP_CLIENT:
        self->client = g_value_dup_object (value);
        break;
      case PROP_COST_POLICY:
        bgt_downloader_set_cost_policy (self, g_value_get_enum (value));
        break;
      case PROP_PRIORITY:
        bgt_downloader_set_priority (self, g_value_get_enum (value));
        break;
      case PROP_GROUP:
        bgt_downloader_set_group (self, g_value_get_string (value));
        break;
      case PROP_TAG:
        bgt_downloader_set_tag (self, g_value_get_string (value));
        break;
      case PROP_OVERWRITE:
        bgt_downloader_set_overwrite (self, g_value_get_boolean (value));
        break;
      case PROP_START:
        bgt_downloader_set_start (self, g_value_get_boolean (value));
        break;
      case PROP_CHECKSUM:
        bgt_downloader_set_checksum (self, g_value_get_string (value));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

#define RW (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY)

static void
bgt_downloader_class_init (BgtDownloaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = bgt_downloader_finalize;
  object_class->get_property = bgt_downloader_get_property;
  object_class->set_property = bgt_downloader_set_property;

  /**
   * BgtDownloader:client:
   *
   * The client downloads are created with.
   *
   * Since: 0.1
   */
  props[PROP_CLIENT]
      = g_param_spec_object ("client", NULL, NULL, BGT_TYPE_CLIENT,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * BgtDownloader:cost-policy:
   *
   * On which networks new downloads may run.
   *
   * Since: 0.1
   */
  props[PROP_COST_POLICY] = g_param_spec_enum ("cost-policy", NULL, NULL, BGT_TYPE_COST_POLICY,
                                               BGT_COST_POLICY_DEFAULT, RW);
  /**
   * BgtDownloader:priority:
   *
   * The priority of new downloads.
   *
   * Since: 0.1
   */
  props[PROP_PRIORITY]
      = g_param_spec_enum ("priority", NULL, NULL, BGT_TYPE_PRIORITY, BGT_PRIORITY_DEFAULT, RW);
  /**
   * BgtDownloader:group:
   *
   * The transfer group of new downloads.
   *
   * Since: 0.1
   */
  props[PROP_GROUP] = g_param_spec_string ("group", NULL, NULL, NULL, RW);
  /**
   * BgtDownloader:tag:
   *
   * Free text of the application for new downloads.
   *
   * Since: 0.1
   */
  props[PROP_TAG] = g_param_spec_string ("tag", NULL, NULL, NULL, RW);
  /**
   * BgtDownloader:overwrite:
   *
   * Whether new downloads may replace an existing destination file.
   *
   * Since: 0.1
   */
  props[PROP_OVERWRITE] = g_param_spec_boolean ("overwrite", NULL, NULL, FALSE, RW);
  /**
   * BgtDownloader:start:
   *
   * Whether new downloads start at once; otherwise they wait for
   * bgt_transfer_start_async().
   *
   * Since: 0.1
   */
  props[PROP_START] = g_param_spec_boolean ("start", NULL, NULL, TRUE, RW);
  /**
   * BgtDownloader:checksum:
   *
   * "sha256:HEX" or "sha512:HEX" the next downloads must match.
   *
   * Since: 0.1
   */
  props[PROP_CHECKSUM] = g_param_spec_string ("checksum", NULL, NULL, NULL, RW);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
bgt_downloader_init (BgtDownloader *self)
{
  _bgt_request_defaults_init (&self->defaults);
}

/**
 * bgt_downloader_new:
 * @client: a #BgtClient
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
 * Returns: (transfer none): the client
 *
 * Since: 0.1
 */
BgtClient *
bgt_downloader_get_client (BgtDownloader *self)
{
  g_return_val_if_fail (BGT_IS_DOWNLOADER (self), NULL);
  return self->client;
}

/**
 * bgt_downloader_get_cost_policy:
 * @self: a #BgtDownloader
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
 * Since: 0.1
 */
void
bgt_downloader_set_cost_policy (BgtDownloader *self, BgtCostPolicy cost_policy)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  if (self->defaults.cost_policy == cost_policy)
    return;
  self->defaults.cost_policy = cost_policy;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_COST_POLICY]);
}

/**
 * bgt_downloader_get_priority:
 * @self: a #BgtDownloader
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
 * Since: 0.1
 */
void
bgt_downloader_set_priority (BgtDownloader *self, BgtPriority priority)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  if (self->defaults.priority == priority)
    return;
  self->defaults.priority = priority;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PRIORITY]);
}

static void
set_string (BgtDownloader *self, char **field, const char *value, int prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

/**
 * bgt_downloader_get_group:
 * @self: a #BgtDownloader
 *
 * Returns: (nullable): the group of new downloads
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
 * @group: (nullable): a group name
 *
 * Since: 0.1
 */
void
bgt_downloader_set_group (BgtDownloader *self, const char *group)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  set_string (self, &self->defaults.group, group, PROP_GROUP);
}

/**
 * bgt_downloader_get_tag:
 * @self: a #BgtDownloader
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
 * Since: 0.1
 */
void
bgt_downloader_set_tag (BgtDownloader *self, const char *tag)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  set_string (self, &self->defaults.tag, tag, PROP_TAG);
}

/**
 * bgt_downloader_get_checksum:
 * @self: a #BgtDownloader
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
 * Since: 0.1
 */
void
bgt_downloader_set_checksum (BgtDownloader *self, const char *checksum)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  set_string (self, &self->checksum, checksum, PROP_CHECKSUM);
}

/**
 * bgt_downloader_get_overwrite:
 * @self: a #BgtDownloader
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
 * Since: 0.1
 */
void
bgt_downloader_set_overwrite (BgtDownloader *self, gboolean overwrite)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  if (self->overwrite == !!overwrite)
    return;
  self->overwrite = !!overwrite;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_OVERWRITE]);
}

/**
 * bgt_downloader_get_start:
 * @self: a #BgtDownloader
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
 * Since: 0.1
 */
void
bgt_downloader_set_start (BgtDownloader *self, gboolean start)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  if (self->defaults.start == !!start)
    return;
  self->defaults.start = !!start;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_START]);
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
 * challenge with. The service keeps them in the Secret Service.
 *
 * Since: 0.1
 */
void
bgt_downloader_set_server_credential (BgtDownloader *self, const char *username,
                                      const char *password)
{
  g_return_if_fail (BGT_IS_DOWNLOADER (self));
  _bgt_request_defaults_set_credential (&self->defaults, username, password);
}

static void
build_options (BgtDownloader *self, GVariantBuilder *options)
{
  g_variant_builder_init (options, G_VARIANT_TYPE_VARDICT);
  _bgt_request_defaults_add_options (&self->defaults, self->client, options);
  if (self->overwrite)
    g_variant_builder_add (options, "{sv}", "overwrite", g_variant_new_boolean (TRUE));
  if (self->checksum != NULL)
    g_variant_builder_add (options, "{sv}", "checksum", g_variant_new_string (self->checksum));
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
  _bgt_create_transfer (self->client, "CreateDownload", uri, &options, NULL, self,
                        bgt_downloader_create_download_async, cancellable, callback, user_data);
}

/**
 * bgt_downloader_create_download_finish:
 * @self: a #BgtDownloader
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the download, or %NULL with @error set
 *
 * Since: 0.1
 */
BgtDownload *
bgt_downloader_create_download_finish (BgtDownloader *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == bgt_downloader_create_download_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
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
  _bgt_create_transfer (self->client, "CreateDownload", uri, &options, fd_list, self,
                        bgt_downloader_create_download_for_fd_async, cancellable, callback,
                        user_data);
}

/**
 * bgt_downloader_create_download_for_fd_finish:
 * @self: a #BgtDownloader
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the download, or %NULL with @error set
 *
 * Since: 0.1
 */
BgtDownload *
bgt_downloader_create_download_for_fd_finish (BgtDownloader *self, GAsyncResult *result,
                                              GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
