/* bgt-transfer.c: one download or upload
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gunixinputstream.h>

#include "bgt-private.h"

/**
 * BgtTransfer:
 *
 * One transfer of the service: a #BgtDownload or a #BgtUpload.
 *
 * Its properties follow the service's (they notify on every real change:
 * status changes at once, byte counters at most ten times a second). The
 * methods that cross the bus are asynchronous;
 * bgt_transfer_wait_async() completes when the transfer has ended.
 *
 * Sizes and byte counts are #gint64, so that they are exact in JavaScript
 * too, with -1 for a size that is not known (yet);
 * #BgtTransfer:progress gives the fraction done.
 *
 * Since: 0.1
 */

typedef struct
{
  BgtClient *client;
  char *object_path;
  gboolean registered; /* with the client, which dispatches its signals */

  char *id;
  BgtTransferKind kind;
  char *uri;
  char *actual_uri;
  char *method;
  BgtStatus status;
  gint64 bytes_received;
  gint64 total_bytes_to_receive;
  gint64 bytes_sent;
  gint64 total_bytes_to_send;
  double progress;
  BgtPriority priority;
  BgtCostPolicy cost_policy;
  char *group;
  char *tag;
  gint64 created_time;
  gint64 completed_time;
  guint http_status;
  gboolean is_resumable;
  gint64 rate;
  guint attempts;
  BgtErrorStatus error_status;
  char *error_message;
  GVariant *response_headers; /* a(ss) */
  GVariant *ranges;           /* a(tt) */
  char *location;             /* Destination or Source */

  GPtrArray *waiters; /* GTask of bgt_transfer_wait_async() */
  /* Every property was read from this instance of the service (see
   * _bgt_client_get_instance()); its signals have kept them current */
  gboolean loaded;
  guint instance;
} BgtTransferPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (BgtTransfer, bgt_transfer, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_CLIENT,
  PROP_OBJECT_PATH,
  PROP_ID,
  PROP_KIND,
  PROP_URI,
  PROP_ACTUAL_URI,
  PROP_METHOD,
  PROP_STATUS,
  PROP_BYTES_RECEIVED,
  PROP_TOTAL_BYTES_TO_RECEIVE,
  PROP_BYTES_SENT,
  PROP_TOTAL_BYTES_TO_SEND,
  PROP_PRIORITY,
  PROP_COST_POLICY,
  PROP_GROUP,
  PROP_TAG,
  PROP_CREATED_TIME,
  PROP_COMPLETED_TIME,
  PROP_HTTP_STATUS,
  PROP_IS_RESUMABLE,
  PROP_RATE,
  PROP_ATTEMPTS,
  PROP_ERROR_STATUS,
  PROP_ERROR_MESSAGE,
  PROP_PROGRESS,
  PROP_RANGES,
  PROP_RESPONSE_HEADERS,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

enum
{
  SIGNAL_RANGES_ADDED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void complete_waiters (BgtTransfer *self);

static void
bgt_transfer_dispose (GObject *object)
{
  BgtTransfer *self = BGT_TRANSFER (object);
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);

  if (priv->registered)
    {
      _bgt_client_unregister_transfer (priv->client, self);
      priv->registered = FALSE;
    }
  g_clear_object (&priv->client);

  G_OBJECT_CLASS (bgt_transfer_parent_class)->dispose (object);
}

static void
bgt_transfer_finalize (GObject *object)
{
  BgtTransfer *self = BGT_TRANSFER (object);
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);

  g_free (priv->object_path);
  g_free (priv->id);
  g_free (priv->uri);
  g_free (priv->actual_uri);
  g_free (priv->method);
  g_free (priv->group);
  g_free (priv->tag);
  g_free (priv->error_message);
  g_free (priv->location);
  g_clear_pointer (&priv->response_headers, g_variant_unref);
  g_clear_pointer (&priv->ranges, g_variant_unref);
  g_ptr_array_unref (priv->waiters);

  G_OBJECT_CLASS (bgt_transfer_parent_class)->finalize (object);
}

static void
bgt_transfer_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BgtTransfer *self = BGT_TRANSFER (object);
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);

  switch (prop_id)
    {
      case PROP_CLIENT:
        g_value_set_object (value, priv->client);
        break;
      case PROP_OBJECT_PATH:
        g_value_set_string (value, priv->object_path);
        break;
      case PROP_ID:
        g_value_set_string (value, priv->id);
        break;
      case PROP_KIND:
        g_value_set_enum (value, priv->kind);
        break;
      case PROP_URI:
        g_value_set_string (value, priv->uri);
        break;
      case PROP_ACTUAL_URI:
        g_value_set_string (value, priv->actual_uri);
        break;
      case PROP_METHOD:
        g_value_set_string (value, priv->method);
        break;
      case PROP_STATUS:
        g_value_set_enum (value, priv->status);
        break;
      case PROP_BYTES_RECEIVED:
        g_value_set_int64 (value, priv->bytes_received);
        break;
      case PROP_TOTAL_BYTES_TO_RECEIVE:
        g_value_set_int64 (value, priv->total_bytes_to_receive);
        break;
      case PROP_BYTES_SENT:
        g_value_set_int64 (value, priv->bytes_sent);
        break;
      case PROP_TOTAL_BYTES_TO_SEND:
        g_value_set_int64 (value, priv->total_bytes_to_send);
        break;
      case PROP_PRIORITY:
        g_value_set_enum (value, priv->priority);
        break;
      case PROP_COST_POLICY:
        g_value_set_enum (value, priv->cost_policy);
        break;
      case PROP_GROUP:
        g_value_set_string (value, priv->group);
        break;
      case PROP_TAG:
        g_value_set_string (value, priv->tag);
        break;
      case PROP_CREATED_TIME:
        g_value_set_int64 (value, priv->created_time);
        break;
      case PROP_COMPLETED_TIME:
        g_value_set_int64 (value, priv->completed_time);
        break;
      case PROP_HTTP_STATUS:
        g_value_set_uint (value, priv->http_status);
        break;
      case PROP_IS_RESUMABLE:
        g_value_set_boolean (value, priv->is_resumable);
        break;
      case PROP_RATE:
        g_value_set_int64 (value, priv->rate);
        break;
      case PROP_ATTEMPTS:
        g_value_set_uint (value, priv->attempts);
        break;
      case PROP_ERROR_STATUS:
        g_value_set_enum (value, priv->error_status);
        break;
      case PROP_ERROR_MESSAGE:
        g_value_set_string (value, priv->error_message);
        break;
      case PROP_PROGRESS:
        g_value_set_double (value, priv->progress);
        break;
      case PROP_RANGES:
        g_value_set_variant (value, priv->ranges);
        break;
      case PROP_RESPONSE_HEADERS:
        g_value_set_variant (value, priv->response_headers);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_transfer_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  BgtTransfer *self = BGT_TRANSFER (object);
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);

  switch (prop_id)
    {
      case PROP_CLIENT:
        priv->client = g_value_dup_object (value);
        break;
      case PROP_OBJECT_PATH:
        priv->object_path = g_value_dup_string (value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_transfer_constructed (GObject *object)
{
  BgtTransfer *self = BGT_TRANSFER (object);
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);

  G_OBJECT_CLASS (bgt_transfer_parent_class)->constructed (object);

  g_return_if_fail (priv->client != NULL && priv->object_path != NULL);
  /* The client's one subscription hears the service's signals for it */
  _bgt_client_register_transfer (priv->client, self);
  priv->registered = TRUE;
}

#define STRING_PROP(name, nick_)                                                                   \
  g_param_spec_string (name, NULL, NULL, NULL,                                                     \
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY)
#define INT64_PROP(name, min, def)                                                                 \
  g_param_spec_int64 (name, NULL, NULL, min, G_MAXINT64, def,                                      \
                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY)
#define ENUM_PROP(name, type, def)                                                                 \
  g_param_spec_enum (name, NULL, NULL, type, def,                                                  \
                     G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY)

static void
bgt_transfer_class_init (BgtTransferClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = bgt_transfer_constructed;
  object_class->dispose = bgt_transfer_dispose;
  object_class->finalize = bgt_transfer_finalize;
  object_class->get_property = bgt_transfer_get_property;
  object_class->set_property = bgt_transfer_set_property;

  /**
   * BgtTransfer:client:
   *
   * The client the transfer belongs to.
   *
   * Since: 0.1
   */
  props[PROP_CLIENT]
      = g_param_spec_object ("client", NULL, NULL, BGT_TYPE_CLIENT,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * BgtTransfer:object-path:
   *
   * The transfer's object path on the bus.
   *
   * Since: 0.1
   */
  props[PROP_OBJECT_PATH]
      = g_param_spec_string ("object-path", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * BgtTransfer:id:
   *
   * The transfer's identifier.
   *
   * Since: 0.1
   */
  props[PROP_ID] = STRING_PROP ("id", NULL);
  /**
   * BgtTransfer:kind:
   *
   * Download or upload.
   *
   * Since: 0.1
   */
  props[PROP_KIND] = ENUM_PROP ("kind", BGT_TYPE_TRANSFER_KIND, BGT_TRANSFER_KIND_DOWNLOAD);
  /**
   * BgtTransfer:uri:
   *
   * The requested URI.
   *
   * Since: 0.1
   */
  props[PROP_URI] = STRING_PROP ("uri", NULL);
  /**
   * BgtTransfer:actual-uri:
   *
   * The URI after redirects.
   *
   * Since: 0.1
   */
  props[PROP_ACTUAL_URI] = STRING_PROP ("actual-uri", NULL);
  /**
   * BgtTransfer:method:
   *
   * The HTTP method.
   *
   * Since: 0.1
   */
  props[PROP_METHOD] = STRING_PROP ("method", NULL);
  /**
   * BgtTransfer:status:
   *
   * Where the transfer stands.
   *
   * Since: 0.1
   */
  props[PROP_STATUS] = ENUM_PROP ("status", BGT_TYPE_STATUS, BGT_STATUS_IDLE);
  /**
   * BgtTransfer:bytes-received:
   *
   * Bytes received (and kept) so far: of the body of a download, of the
   * server's reply to an upload.
   *
   * Since: 0.1
   */
  props[PROP_BYTES_RECEIVED] = INT64_PROP ("bytes-received", 0, 0);
  /**
   * BgtTransfer:total-bytes-to-receive:
   *
   * The size to receive, -1 when it is not known (yet): a server may send
   * a body without saying its length. A #gint64 rather than the bus's
   * unsigned sentinel, so that it is exact in JavaScript.
   *
   * Since: 0.1
   */
  props[PROP_TOTAL_BYTES_TO_RECEIVE] = INT64_PROP ("total-bytes-to-receive", -1, -1);
  /**
   * BgtTransfer:bytes-sent:
   *
   * Bytes of the request body sent so far.
   *
   * Since: 0.1
   */
  props[PROP_BYTES_SENT] = INT64_PROP ("bytes-sent", 0, 0);
  /**
   * BgtTransfer:total-bytes-to-send:
   *
   * The size of the request body, -1 when it is not known (a stream).
   *
   * Since: 0.1
   */
  props[PROP_TOTAL_BYTES_TO_SEND] = INT64_PROP ("total-bytes-to-send", -1, -1);
  /**
   * BgtTransfer:priority:
   *
   * The transfer's place in the queue.
   *
   * Since: 0.1
   */
  props[PROP_PRIORITY] = ENUM_PROP ("priority", BGT_TYPE_PRIORITY, BGT_PRIORITY_DEFAULT);
  /**
   * BgtTransfer:cost-policy:
   *
   * On which networks the transfer may run.
   *
   * Since: 0.1
   */
  props[PROP_COST_POLICY]
      = ENUM_PROP ("cost-policy", BGT_TYPE_COST_POLICY, BGT_COST_POLICY_DEFAULT);
  /**
   * BgtTransfer:group:
   *
   * The transfer group, or %NULL.
   *
   * Since: 0.1
   */
  props[PROP_GROUP] = STRING_PROP ("group", NULL);
  /**
   * BgtTransfer:tag:
   *
   * The application's free text, or %NULL.
   *
   * Since: 0.1
   */
  props[PROP_TAG] = STRING_PROP ("tag", NULL);
  /**
   * BgtTransfer:created-time:
   *
   * When the transfer was created, in microseconds since the epoch.
   *
   * Since: 0.1
   */
  props[PROP_CREATED_TIME]
      = g_param_spec_int64 ("created-time", NULL, NULL, 0, G_MAXINT64, 0,
                            G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /**
   * BgtTransfer:completed-time:
   *
   * When the transfer ended, in microseconds since the epoch, or 0.
   *
   * Since: 0.1
   */
  props[PROP_COMPLETED_TIME]
      = g_param_spec_int64 ("completed-time", NULL, NULL, 0, G_MAXINT64, 0,
                            G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /**
   * BgtTransfer:http-status:
   *
   * The status code of the last response, or 0.
   *
   * Since: 0.1
   */
  props[PROP_HTTP_STATUS]
      = g_param_spec_uint ("http-status", NULL, NULL, 0, G_MAXUINT, 0,
                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /**
   * BgtTransfer:is-resumable:
   *
   * Whether an interruption can continue from the data so far.
   *
   * Since: 0.1
   */
  props[PROP_IS_RESUMABLE]
      = g_param_spec_boolean ("is-resumable", NULL, NULL, FALSE,
                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /**
   * BgtTransfer:rate:
   *
   * The smoothed rate in bytes per second.
   *
   * Since: 0.1
   */
  props[PROP_RATE] = INT64_PROP ("rate", 0, 0);
  /**
   * BgtTransfer:attempts:
   *
   * Requests started so far.
   *
   * Since: 0.1
   */
  props[PROP_ATTEMPTS]
      = g_param_spec_uint ("attempts", NULL, NULL, 0, G_MAXUINT, 0,
                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /**
   * BgtTransfer:error-status:
   *
   * Why the transfer failed or waits to retry.
   *
   * Since: 0.1
   */
  props[PROP_ERROR_STATUS]
      = ENUM_PROP ("error-status", BGT_TYPE_ERROR_STATUS, BGT_ERROR_STATUS_NONE);
  /**
   * BgtTransfer:error-message:
   *
   * A human-readable account of the error, or %NULL.
   *
   * Since: 0.1
   */
  props[PROP_ERROR_MESSAGE] = STRING_PROP ("error-message", NULL);
  /**
   * BgtTransfer:progress:
   *
   * The fraction of the transfer done, from 0 to 1: of the body received
   * for a download, of the request body sent for an upload. It is -1
   * while the size is not known (see #BgtTransfer:total-bytes-to-receive),
   * and 1 once the transfer has completed.
   *
   * Since: 1.0
   */
  props[PROP_PROGRESS]
      = g_param_spec_double ("progress", NULL, NULL, -1.0, 1.0, -1.0,
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /**
   * BgtTransfer:ranges:
   *
   * The data of a download on disk so far: sorted, merged (offset,
   * length) pairs, a #GVariant of type `a(tt)`. A segmented download
   * fills several ranges at once. Throttled like the byte counters; see
   * #BgtTransfer::ranges-added for each piece as it arrives.
   *
   * Since: 1.0
   */
  props[PROP_RANGES]
      = g_param_spec_variant ("ranges", NULL, NULL, G_VARIANT_TYPE ("a(tt)"), NULL,
                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /**
   * BgtTransfer:response-headers:
   *
   * The headers of the last response, a #GVariant of type `a(ss)` in the
   * order they came (secret ones left out by the service). See also
   * bgt_transfer_dup_response_headers().
   *
   * Since: 1.0
   */
  props[PROP_RESPONSE_HEADERS]
      = g_param_spec_variant ("response-headers", NULL, NULL, G_VARIANT_TYPE ("a(ss)"), NULL,
                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, props);

  /**
   * BgtTransfer::ranges-added:
   * @self: the #BgtTransfer
   * @added: the (offset, length) pairs that arrived since the last
   *   emission, a #GVariant of type `a(tt)`
   * @restarted: whether the download had to start over from zero: what
   *   was read from it so far is void
   *
   * Data arrived for a download (WinRT's AddedRanges and
   * WasDownloadRestarted): at most ten times a second, at once on a
   * restart, and at the end. A reader of the partial data
   * (bgt_download_open_result_async()) learns here what it may read.
   *
   * Since: 1.0
   */
  signals[SIGNAL_RANGES_ADDED]
      = g_signal_new ("ranges-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 2, G_TYPE_VARIANT, G_TYPE_BOOLEAN);
}

static void
bgt_transfer_init (BgtTransfer *self)
{
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);

  priv->total_bytes_to_receive = -1;
  priv->total_bytes_to_send = -1;
  priv->progress = -1.0;
  priv->ranges = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("(tt)"), NULL, 0));
  priv->response_headers
      = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("(ss)"), NULL, 0));
  priv->priority = BGT_PRIORITY_DEFAULT;
  priv->cost_policy = BGT_COST_POLICY_DEFAULT;
  priv->waiters = g_ptr_array_new_with_free_func (g_object_unref);
}

/* ---- Updates from the service ------------------------------------------- */

static void
update_string (BgtTransfer *self, char **field, GVariant *value, int prop)
{
  const char *str = g_variant_get_string (value, NULL);
  const char *v = *str != '\0' ? str : NULL;

  if (g_strcmp0 (*field, v) == 0)
    return;
  g_free (*field);
  *field = g_strdup (v);
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

/* Destination (downloads) or Source (uploads): the subclass's property */
static void
update_location (BgtTransfer *self, const char *value)
{
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);
  const char *name = BGT_IS_UPLOAD (self) ? "source" : "destination";

  /* The empty string on the bus: the app named the file by fd */
  if (value != NULL && *value == '\0')
    value = NULL;
  if (g_strcmp0 (priv->location, value) == 0)
    return;
  g_free (priv->location);
  priv->location = g_strdup (value);
  g_object_notify (G_OBJECT (self), name);
}

const char *
_bgt_transfer_get_location (BgtTransfer *self)
{
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);

  return priv->location;
}

/* The bus says G_MAXUINT64 for a size not known; so large a number is no
 * size in JavaScript */
static gint64
size_from_bus (guint64 value)
{
  return value > (guint64) G_MAXINT64 ? -1 : (gint64) value;
}

static void
update_variant (BgtTransfer *self, GVariant **field, GVariant *value, int prop)
{
  if (*field != NULL && g_variant_equal (*field, value))
    return;
  g_clear_pointer (field, g_variant_unref);
  *field = g_variant_ref (value);
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

static void
update_progress (BgtTransfer *self)
{
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);
  gboolean upload = priv->kind == BGT_TRANSFER_KIND_UPLOAD;
  gint64 done = upload ? priv->bytes_sent : priv->bytes_received;
  gint64 total = upload ? priv->total_bytes_to_send : priv->total_bytes_to_receive;
  double progress;

  if (priv->status == BGT_STATUS_COMPLETED)
    progress = 1.0;
  else if (total < 0)
    progress = -1.0;
  else if (total == 0)
    progress = 0.0;
  else
    progress = CLAMP ((double) done / (double) total, 0.0, 1.0);
  if (progress != priv->progress)
    {
      priv->progress = progress;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PROGRESS]);
    }
}

#define UPDATE(field, v, prop)                                                                     \
  G_STMT_START                                                                                     \
  {                                                                                                \
    __typeof__ (field) _v = (__typeof__ (field)) (v);                                              \
    if ((field) != _v)                                                                             \
      {                                                                                            \
        (field) = _v;                                                                              \
        g_object_notify_by_pspec (G_OBJECT (self), props[prop]);                                   \
      }                                                                                            \
  }                                                                                                \
  G_STMT_END

void
_bgt_transfer_update (BgtTransfer *self, GVariant *properties)
{
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);
  GVariantIter iter;
  const char *name;
  GVariant *value;

  g_object_freeze_notify (G_OBJECT (self));
  g_variant_iter_init (&iter, properties);
  while (g_variant_iter_next (&iter, "{&sv}", &name, &value))
    {
      g_autoptr (GVariant) v = value;
      const GVariantType *type = g_variant_get_type (v);

      if (g_variant_type_equal (type, G_VARIANT_TYPE_STRING))
        {
          const char *s = g_variant_get_string (v, NULL);

          if (g_str_equal (name, "Id"))
            update_string (self, &priv->id, v, PROP_ID);
          else if (g_str_equal (name, "Kind"))
            UPDATE (priv->kind, _bgt_enum_from_string (BGT_TYPE_TRANSFER_KIND, s, priv->kind),
                    PROP_KIND);
          else if (g_str_equal (name, "Uri"))
            update_string (self, &priv->uri, v, PROP_URI);
          else if (g_str_equal (name, "ActualUri"))
            update_string (self, &priv->actual_uri, v, PROP_ACTUAL_URI);
          else if (g_str_equal (name, "Method"))
            update_string (self, &priv->method, v, PROP_METHOD);
          else if (g_str_equal (name, "Status"))
            UPDATE (priv->status, _bgt_enum_from_string (BGT_TYPE_STATUS, s, priv->status),
                    PROP_STATUS);
          else if (g_str_equal (name, "Priority"))
            UPDATE (priv->priority, _bgt_enum_from_string (BGT_TYPE_PRIORITY, s, priv->priority),
                    PROP_PRIORITY);
          else if (g_str_equal (name, "CostPolicy"))
            UPDATE (priv->cost_policy,
                    _bgt_enum_from_string (BGT_TYPE_COST_POLICY, s, priv->cost_policy),
                    PROP_COST_POLICY);
          else if (g_str_equal (name, "Group"))
            update_string (self, &priv->group, v, PROP_GROUP);
          else if (g_str_equal (name, "Tag"))
            update_string (self, &priv->tag, v, PROP_TAG);
          else if (g_str_equal (name, "ErrorStatus"))
            UPDATE (priv->error_status,
                    *s == '\0' ? BGT_ERROR_STATUS_NONE
                               : _bgt_enum_from_string (BGT_TYPE_ERROR_STATUS, s,
                                                        BGT_ERROR_STATUS_UNKNOWN),
                    PROP_ERROR_STATUS);
          else if (g_str_equal (name, "ErrorMessage"))
            update_string (self, &priv->error_message, v, PROP_ERROR_MESSAGE);
          else if (g_str_equal (name, BGT_IS_UPLOAD (self) ? "Source" : "Destination"))
            update_location (self, s);
        }
      else if (g_variant_type_equal (type, G_VARIANT_TYPE_UINT64))
        {
          gint64 n = size_from_bus (g_variant_get_uint64 (v));

          if (g_str_equal (name, "BytesReceived"))
            UPDATE (priv->bytes_received, n, PROP_BYTES_RECEIVED);
          else if (g_str_equal (name, "TotalBytesToReceive"))
            UPDATE (priv->total_bytes_to_receive, n, PROP_TOTAL_BYTES_TO_RECEIVE);
          else if (g_str_equal (name, "BytesSent"))
            UPDATE (priv->bytes_sent, n, PROP_BYTES_SENT);
          else if (g_str_equal (name, "TotalBytesToSend"))
            UPDATE (priv->total_bytes_to_send, n, PROP_TOTAL_BYTES_TO_SEND);
          else if (g_str_equal (name, "Rate"))
            UPDATE (priv->rate, n, PROP_RATE);
        }
      else if (g_variant_type_equal (type, G_VARIANT_TYPE_INT64))
        {
          gint64 n = g_variant_get_int64 (v);

          if (g_str_equal (name, "CreatedTime"))
            UPDATE (priv->created_time, n, PROP_CREATED_TIME);
          else if (g_str_equal (name, "CompletedTime"))
            UPDATE (priv->completed_time, n, PROP_COMPLETED_TIME);
        }
      else if (g_variant_type_equal (type, G_VARIANT_TYPE_UINT32))
        {
          guint n = g_variant_get_uint32 (v);

          if (g_str_equal (name, "HttpStatus"))
            UPDATE (priv->http_status, n, PROP_HTTP_STATUS);
          else if (g_str_equal (name, "Attempts"))
            UPDATE (priv->attempts, n, PROP_ATTEMPTS);
        }
      else if (g_variant_type_equal (type, G_VARIANT_TYPE_BOOLEAN))
        {
          if (g_str_equal (name, "IsResumable"))
            UPDATE (priv->is_resumable, g_variant_get_boolean (v), PROP_IS_RESUMABLE);
        }
      else if (g_str_equal (name, "ResponseHeaders")
               && g_variant_type_equal (type, G_VARIANT_TYPE ("a(ss)")))
        update_variant (self, &priv->response_headers, v, PROP_RESPONSE_HEADERS);
      else if (g_str_equal (name, "RangesDownloaded")
               && g_variant_type_equal (type, G_VARIANT_TYPE ("a(tt)")))
        update_variant (self, &priv->ranges, v, PROP_RANGES);
    }
  update_progress (self);
  g_object_thaw_notify (G_OBJECT (self));

  if (bgt_status_is_finished (priv->status))
    complete_waiters (self);
}

/* @properties: all of them, as GetAll answered */
void
_bgt_transfer_update_all (BgtTransfer *self, GVariant *properties)
{
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);

  priv->loaded = _bgt_client_get_instance (priv->client, &priv->instance);
  _bgt_transfer_update (self, properties);
}

/* Whether the properties are those of the service's instance now */
static gboolean
is_current (BgtTransfer *self)
{
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);
  guint instance;

  return priv->loaded && _bgt_client_get_instance (priv->client, &instance)
         && instance == priv->instance;
}

static void
on_refreshed_all (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BgtTransfer) self = user_data;
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) properties = NULL;

  reply = _bgt_client_call_finish (priv->client, result, NULL, NULL);
  if (reply == NULL)
    return;
  g_variant_get (reply, "(@a{sv})", &properties);
  _bgt_transfer_update_all (self, properties);
}

/* Whether someone waits for the end of this transfer */
gboolean
_bgt_transfer_has_waiters (BgtTransfer *self)
{
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);

  return priv->waiters->len > 0;
}

void
_bgt_transfer_refresh_all (BgtTransfer *self)
{
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);

  _bgt_client_call (priv->client, priv->object_path, BGT_PROPERTIES_INTERFACE, "GetAll",
                    g_variant_new ("(s)", BGT_TRANSFER_INTERFACE), G_VARIANT_TYPE ("(a{sv})"), NULL,
                    NULL, on_refreshed_all, g_object_ref (self));
}

/* A signal of the service about this transfer (the client's one
 * subscription dispatches them by object path) */
void
_bgt_transfer_handle_signal (BgtTransfer *self, const char *interface_name, const char *signal_name,
                             GVariant *parameters)
{
  if (g_str_equal (interface_name, BGT_PROPERTIES_INTERFACE)
      && g_str_equal (signal_name, "PropertiesChanged")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    {
      g_autoptr (GVariant) changed = NULL;
      g_autofree const char **invalidated = NULL;
      const char *iface;

      g_variant_get (parameters, "(&s@a{sv}^a&s)", &iface, &changed, &invalidated);
      if (!g_str_equal (iface, BGT_TRANSFER_INTERFACE))
        return;
      _bgt_transfer_update (self, changed);
      if (invalidated != NULL && invalidated[0] != NULL)
        _bgt_transfer_refresh_all (self);
    }
  else if (g_str_equal (interface_name, BGT_TRANSFER_INTERFACE)
           && g_str_equal (signal_name, "RangesAdded")
           && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(a(tt)b)")))
    {
      g_autoptr (GVariant) added = NULL;
      gboolean restarted;

      g_variant_get (parameters, "(@a(tt)b)", &added, &restarted);
      g_signal_emit (self, signals[SIGNAL_RANGES_ADDED], 0, added, restarted);
    }
}

/* ---- Getters ------------------------------------------------------------ */

#define GETTER(type, name, field, fallback)                                                        \
  type bgt_transfer_get_##name (BgtTransfer *self)                                                 \
  {                                                                                                \
    BgtTransferPrivate *priv;                                                                      \
                                                                                                   \
    g_return_val_if_fail (BGT_IS_TRANSFER (self), fallback);                                       \
    priv = bgt_transfer_get_instance_private (self);                                               \
    return priv->field;                                                                            \
  }

/**
 * bgt_transfer_get_client:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:client.
 *
 * Returns: (transfer none): the client
 *
 * Since: 0.1
 */
GETTER (BgtClient *, client, client, NULL)
/**
 * bgt_transfer_get_object_path:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:object-path.
 *
 * Returns: the object path on the bus
 *
 * Since: 0.1
 */
GETTER (const char *, object_path, object_path, NULL)
/**
 * bgt_transfer_get_id:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:id.
 *
 * Returns: (nullable): the identifier
 *
 * Since: 0.1
 */
GETTER (const char *, id, id, NULL)
/**
 * bgt_transfer_get_kind:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:kind.
 *
 * Returns: download or upload
 *
 * Since: 0.1
 */
GETTER (BgtTransferKind, kind, kind, BGT_TRANSFER_KIND_DOWNLOAD)
/**
 * bgt_transfer_get_uri:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:uri.
 *
 * Returns: (nullable): the requested URI
 *
 * Since: 0.1
 */
GETTER (const char *, uri, uri, NULL)
/**
 * bgt_transfer_get_actual_uri:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:actual-uri.
 *
 * Returns: (nullable): the URI after redirects
 *
 * Since: 0.1
 */
GETTER (const char *, actual_uri, actual_uri, NULL)
/**
 * bgt_transfer_get_method:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:method.
 *
 * Returns: (nullable): the HTTP method
 *
 * Since: 0.1
 */
GETTER (const char *, method, method, NULL)
/**
 * bgt_transfer_get_status:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:status.
 *
 * Returns: the status
 *
 * Since: 0.1
 */
GETTER (BgtStatus, status, status, BGT_STATUS_IDLE)
/**
 * bgt_transfer_get_bytes_received:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:bytes-received.
 *
 * Returns: the bytes received so far
 *
 * Since: 0.1
 */
GETTER (gint64, bytes_received, bytes_received, 0)
/**
 * bgt_transfer_get_total_bytes_to_receive:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:total-bytes-to-receive.
 *
 * Returns: the size to receive, -1 when it is not known
 *
 * Since: 0.1
 */
GETTER (gint64, total_bytes_to_receive, total_bytes_to_receive, -1)
/**
 * bgt_transfer_get_bytes_sent:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:bytes-sent.
 *
 * Returns: the bytes sent so far
 *
 * Since: 0.1
 */
GETTER (gint64, bytes_sent, bytes_sent, 0)
/**
 * bgt_transfer_get_total_bytes_to_send:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:total-bytes-to-send.
 *
 * Returns: the size to send, -1 when it is not known
 *
 * Since: 0.1
 */
GETTER (gint64, total_bytes_to_send, total_bytes_to_send, -1)
/**
 * bgt_transfer_get_priority:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:priority.
 *
 * Returns: the priority
 *
 * Since: 0.1
 */
GETTER (BgtPriority, priority, priority, BGT_PRIORITY_DEFAULT)
/**
 * bgt_transfer_get_cost_policy:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:cost-policy.
 *
 * Returns: the cost policy
 *
 * Since: 0.1
 */
GETTER (BgtCostPolicy, cost_policy, cost_policy, BGT_COST_POLICY_DEFAULT)
/**
 * bgt_transfer_get_group:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:group.
 *
 * Returns: (nullable): the group
 *
 * Since: 0.1
 */
GETTER (const char *, group, group, NULL)
/**
 * bgt_transfer_get_tag:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:tag.
 *
 * Returns: (nullable): the tag
 *
 * Since: 0.1
 */
GETTER (const char *, tag, tag, NULL)
/**
 * bgt_transfer_get_created_time:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:created-time.
 *
 * Returns: microseconds since the epoch
 *
 * Since: 0.1
 */
GETTER (gint64, created_time, created_time, 0)
/**
 * bgt_transfer_get_completed_time:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:completed-time.
 *
 * Returns: microseconds since the epoch, or 0
 *
 * Since: 0.1
 */
GETTER (gint64, completed_time, completed_time, 0)
/**
 * bgt_transfer_get_http_status:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:http-status.
 *
 * Returns: the status code of the last response, or 0
 *
 * Since: 0.1
 */
GETTER (guint, http_status, http_status, 0)
/**
 * bgt_transfer_get_is_resumable:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:is-resumable.
 *
 * Returns: whether the transfer can resume after an interruption
 *
 * Since: 0.1
 */
GETTER (gboolean, is_resumable, is_resumable, FALSE)
/**
 * bgt_transfer_get_rate:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:rate.
 *
 * Returns: bytes per second
 *
 * Since: 0.1
 */
GETTER (gint64, rate, rate, 0)
/**
 * bgt_transfer_get_attempts:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:attempts.
 *
 * Returns: requests started so far
 *
 * Since: 0.1
 */
GETTER (guint, attempts, attempts, 0)
/**
 * bgt_transfer_get_error_status:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:error-status.
 *
 * Returns: why the transfer failed or waits to retry
 *
 * Since: 0.1
 */
GETTER (BgtErrorStatus, error_status, error_status, BGT_ERROR_STATUS_NONE)
/**
 * bgt_transfer_get_error_message:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:error-message.
 *
 * Returns: (nullable): an account of the error
 *
 * Since: 0.1
 */
GETTER (const char *, error_message, error_message, NULL)
/**
 * bgt_transfer_get_progress:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:progress.
 *
 * Returns: the #BgtTransfer:progress: a fraction from 0 to 1, or -1 while
 *   the size is not known
 *
 * Since: 1.0
 */
GETTER (double, progress, progress, -1.0)

/**
 * bgt_transfer_dup_ranges:
 * @self: a #BgtTransfer
 *
 * Gets the #BgtTransfer:ranges.
 *
 * Returns: (transfer full): the #BgtTransfer:ranges, a #GVariant of type
 *   `a(tt)`
 *
 * Since: 1.0
 */
GVariant *
bgt_transfer_dup_ranges (BgtTransfer *self)
{
  BgtTransferPrivate *priv;

  g_return_val_if_fail (BGT_IS_TRANSFER (self), NULL);
  priv = bgt_transfer_get_instance_private (self);
  return g_variant_ref (priv->ranges);
}

/**
 * bgt_transfer_dup_response_headers:
 * @self: a #BgtTransfer
 *
 * Gets the headers of the last response, by name.
 *
 * Returns: (transfer full) (element-type utf8 utf8): the headers of the
 *   last response, names in lower case, repeated headers joined with ", "
 *
 * Since: 0.1
 */
GHashTable *
bgt_transfer_dup_response_headers (BgtTransfer *self)
{
  BgtTransferPrivate *priv;
  GHashTable *headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GVariantIter iter;
  const char *name, *value;

  g_return_val_if_fail (BGT_IS_TRANSFER (self), headers);
  priv = bgt_transfer_get_instance_private (self);
  g_variant_iter_init (&iter, priv->response_headers);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &value))
    {
      char *key = g_ascii_strdown (name, -1);
      const char *old = g_hash_table_lookup (headers, key);

      g_hash_table_replace (headers, key,
                            old != NULL ? g_strconcat (old, ", ", value, NULL) : g_strdup (value));
    }
  return headers;
}

/**
 * bgt_transfer_is_finished:
 * @self: a #BgtTransfer
 *
 * Tells whether the transfer has ended.
 *
 * Returns: whether the transfer has ended: completed, canceled or failed
 *
 * Since: 0.1
 */
gboolean
bgt_transfer_is_finished (BgtTransfer *self)
{
  return bgt_status_is_finished (bgt_transfer_get_status (self));
}

/* ---- Methods ------------------------------------------------------------ */

static void
on_method_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (g_task_get_source_object (task));
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;

  reply = _bgt_client_call_finish (priv->client, result, NULL, &error);
  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
call_method (BgtTransfer *self, const char *method, GVariant *parameters, gpointer source_tag,
             GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  _bgt_client_call (priv->client, priv->object_path, BGT_TRANSFER_INTERFACE, method, parameters,
                    NULL, NULL, cancellable, on_method_done, g_steal_pointer (&task));
}

static gboolean
method_finish (BgtTransfer *self, GAsyncResult *result, gpointer source_tag, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

#define METHOD(name, Name)                                                                         \
  void bgt_transfer_##name##_async (BgtTransfer *self, GCancellable *cancellable,                  \
                                    GAsyncReadyCallback callback, gpointer user_data)              \
  {                                                                                                \
    g_return_if_fail (BGT_IS_TRANSFER (self));                                                     \
    call_method (self, Name, NULL, bgt_transfer_##name##_async, cancellable, callback, user_data); \
  }                                                                                                \
  gboolean bgt_transfer_##name##_finish (BgtTransfer *self, GAsyncResult *result, GError **error)  \
  {                                                                                                \
    return method_finish (self, result, bgt_transfer_##name##_async, error);                       \
  }

/**
 * bgt_transfer_start_async:
 * @self: a #BgtTransfer
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Starts a transfer created with #BgtDownloader:start off.
 *
 * Since: 0.1
 */
/**
 * bgt_transfer_start_finish:
 * @self: a #BgtTransfer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_transfer_start_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
METHOD (start, "Start")
/**
 * bgt_transfer_pause_async:
 * @self: a #BgtTransfer
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Pauses the transfer, keeping the data so far. Pausing a paused transfer
 * does nothing; a finished one gives %BGT_ERROR_INVALID_STATE.
 *
 * Since: 0.1
 */
/**
 * bgt_transfer_pause_finish:
 * @self: a #BgtTransfer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_transfer_pause_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
METHOD (pause, "Pause")
/**
 * bgt_transfer_resume_async:
 * @self: a #BgtTransfer
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Resumes a paused transfer from where it stopped, when possible.
 *
 * Since: 0.1
 */
/**
 * bgt_transfer_resume_finish:
 * @self: a #BgtTransfer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_transfer_resume_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
METHOD (resume, "Resume")
/**
 * bgt_transfer_cancel_async:
 * @self: a #BgtTransfer
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Cancels the transfer for good and deletes its partial data.
 *
 * Since: 0.1
 */
/**
 * bgt_transfer_cancel_finish:
 * @self: a #BgtTransfer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_transfer_cancel_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
METHOD (cancel, "Cancel")
/**
 * bgt_transfer_remove_async:
 * @self: a #BgtTransfer
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Makes the service forget a finished transfer (the file stays).
 *
 * Since: 0.1
 */
/**
 * bgt_transfer_remove_finish:
 * @self: a #BgtTransfer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_transfer_remove_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
METHOD (remove, "Remove")

/**
 * bgt_transfer_set_priority_async:
 * @self: a #BgtTransfer
 * @priority: the new priority
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Changes the transfer's place in the queue.
 *
 * Since: 0.1
 */
void
bgt_transfer_set_priority_async (BgtTransfer *self, BgtPriority priority, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (BGT_IS_TRANSFER (self));
  call_method (self, "SetPriority",
               g_variant_new ("(s)", _bgt_enum_to_string (BGT_TYPE_PRIORITY, priority)),
               bgt_transfer_set_priority_async, cancellable, callback, user_data);
}

/**
 * bgt_transfer_set_priority_finish:
 * @self: a #BgtTransfer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_transfer_set_priority_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
bgt_transfer_set_priority_finish (BgtTransfer *self, GAsyncResult *result, GError **error)
{
  return method_finish (self, result, bgt_transfer_set_priority_async, error);
}

/**
 * bgt_transfer_set_cost_policy_async:
 * @self: a #BgtTransfer
 * @cost_policy: the new cost policy
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Changes on which networks the transfer may run; it takes effect at once.
 *
 * Since: 0.1
 */
void
bgt_transfer_set_cost_policy_async (BgtTransfer *self, BgtCostPolicy cost_policy,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_return_if_fail (BGT_IS_TRANSFER (self));
  call_method (self, "SetCostPolicy",
               g_variant_new ("(s)", _bgt_enum_to_string (BGT_TYPE_COST_POLICY, cost_policy)),
               bgt_transfer_set_cost_policy_async, cancellable, callback, user_data);
}

/**
 * bgt_transfer_set_cost_policy_finish:
 * @self: a #BgtTransfer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_transfer_set_cost_policy_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
bgt_transfer_set_cost_policy_finish (BgtTransfer *self, GAsyncResult *result, GError **error)
{
  return method_finish (self, result, bgt_transfer_set_cost_policy_async, error);
}

static void
on_fd_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (g_task_get_source_object (task));
  g_autoptr (GUnixFDList) fd_list = NULL;
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;
  int index, fd;

  reply = _bgt_client_call_finish (priv->client, result, &fd_list, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_variant_get (reply, "(h)", &index);
  fd = fd_list != NULL ? g_unix_fd_list_get (fd_list, index, &error) : -1;
  if (fd < 0)
    {
      if (error == NULL)
        error = g_error_new_literal (BGT_ERROR, BGT_ERROR_FAILED, "The service sent no file");
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_unix_input_stream_new (fd, TRUE), g_object_unref);
}

/* OpenResult or OpenResponse: the fd as a stream of its own */
void
_bgt_transfer_open_fd_async (BgtTransfer *self, const char *method, gpointer source_tag,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  _bgt_client_call (priv->client, priv->object_path, BGT_TRANSFER_INTERFACE, method, NULL,
                    G_VARIANT_TYPE ("(h)"), NULL, cancellable, on_fd_opened,
                    g_steal_pointer (&task));
}

GInputStream *
_bgt_transfer_open_fd_finish (BgtTransfer *self, GAsyncResult *result, gpointer source_tag,
                              GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * bgt_transfer_set_requested_uri_async:
 * @self: a #BgtTransfer
 * @uri: a new URI for the same resource
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Gives a paused or failed transfer a new URI for the same resource (a
 * link that expired, say); bgt_transfer_resume_async() then continues
 * from the data received so far when the resource still matches.
 * #BgtTransfer:uri follows.
 *
 * Since: 1.0
 */
void
bgt_transfer_set_requested_uri_async (BgtTransfer *self, const char *uri, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (BGT_IS_TRANSFER (self));
  g_return_if_fail (uri != NULL);
  call_method (self, "SetRequestedUri", g_variant_new ("(s)", uri),
               bgt_transfer_set_requested_uri_async, cancellable, callback, user_data);
}

/**
 * bgt_transfer_set_requested_uri_finish:
 * @self: a #BgtTransfer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_transfer_set_requested_uri_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
bgt_transfer_set_requested_uri_finish (BgtTransfer *self, GAsyncResult *result, GError **error)
{
  return method_finish (self, result, bgt_transfer_set_requested_uri_async, error);
}

static void
on_refreshed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtTransfer *self = g_task_get_source_object (task);
  g_autoptr (GVariant) reply = NULL;
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);
  g_autoptr (GVariant) properties = NULL;
  GError *error = NULL;

  reply = _bgt_client_call_finish (priv->client, result, NULL, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_variant_get (reply, "(@a{sv})", &properties);
  _bgt_transfer_update_all (self, properties);
  g_task_return_boolean (task, TRUE);
}

/**
 * bgt_transfer_refresh_async:
 * @self: a #BgtTransfer
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Reads every property from the service again.
 *
 * Since: 0.1
 */
void
bgt_transfer_refresh_async (BgtTransfer *self, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  BgtTransferPrivate *priv;
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (BGT_IS_TRANSFER (self));
  priv = bgt_transfer_get_instance_private (self);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bgt_transfer_refresh_async);
  _bgt_client_call (priv->client, priv->object_path, BGT_PROPERTIES_INTERFACE, "GetAll",
                    g_variant_new ("(s)", BGT_TRANSFER_INTERFACE), G_VARIANT_TYPE ("(a{sv})"), NULL,
                    cancellable, on_refreshed, g_steal_pointer (&task));
}

/**
 * bgt_transfer_refresh_finish:
 * @self: a #BgtTransfer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_transfer_refresh_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
bgt_transfer_refresh_finish (BgtTransfer *self, GAsyncResult *result, GError **error)
{
  return method_finish (self, result, bgt_transfer_refresh_async, error);
}

/* ---- Waiting for the end ------------------------------------------------ */

static void
return_outcome (BgtTransfer *self, GTask *task)
{
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);

  switch (priv->status)
    {
      case BGT_STATUS_COMPLETED:
        g_task_return_boolean (task, TRUE);
        break;
      case BGT_STATUS_CANCELED:
        g_task_return_new_error (task, BGT_ERROR, BGT_ERROR_TRANSFER_CANCELED,
                                 "The transfer was canceled");
        break;
      default:
        g_task_return_new_error (task, BGT_ERROR, BGT_ERROR_TRANSFER_FAILED, "%s: %s",
                                 bgt_error_status_to_string (priv->error_status),
                                 priv->error_message != NULL ? priv->error_message : "failed");
        break;
    }
}

static void
complete_waiters (BgtTransfer *self)
{
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);
  g_autoptr (GPtrArray) waiters = g_steal_pointer (&priv->waiters);

  priv->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiters->len; i++)
    return_outcome (self, g_ptr_array_index (waiters, i));
}

static void on_wait_refreshed (GObject *source, GAsyncResult *result, gpointer user_data);

/* Ends a wait with @error (taken), unless it was answered already */
static void
fail_waiter (BgtTransfer *self, GTask *task, GError *error)
{
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);

  if (g_ptr_array_remove (priv->waiters, task))
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

/* A waiter starts the service again after a crash, a few times at most,
 * a little later each time: a call may meet the dying instance, or one
 * still starting, and get no reply */
#define MAX_WAIT_REBINDS 5
#define WAIT_REBIND_STEP_MS 200

static void on_wait_rebound (GObject *source, GAsyncResult *result, gpointer user_data);

typedef struct
{
  BgtClient *client;
  GTask *task;
} Rebind;

static gboolean
on_rebind_due (gpointer user_data)
{
  Rebind *rebind = user_data;

  _bgt_client_rebind_async (rebind->client, on_wait_rebound, rebind->task);
  g_object_unref (rebind->client);
  g_free (rebind);
  return G_SOURCE_REMOVE;
}

/* Takes @task */
static void
rebind_later (BgtClient *client, GTask *task)
{
  Rebind *rebind = g_new0 (Rebind, 1);
  guint n = GPOINTER_TO_UINT (g_task_get_task_data (task));

  rebind->client = g_object_ref (client);
  rebind->task = task;
  g_timeout_add (WAIT_REBIND_STEP_MS * (n > 0 ? n - 1 : 0), on_rebind_due, rebind);
}

static gboolean
rebind_again (GTask *task, const GError *error)
{
  guint rebinds = GPOINTER_TO_UINT (g_task_get_task_data (task));

  if (!g_error_matches (error, BGT_ERROR, BGT_ERROR_SERVICE_UNAVAILABLE)
      || rebinds >= MAX_WAIT_REBINDS)
    return FALSE;
  g_task_set_task_data (task, GUINT_TO_POINTER (rebinds + 1), NULL);
  return TRUE;
}

static void
on_wait_rebound (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtTransfer *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!_bgt_client_rebind_finish (BGT_CLIENT (source), result, &error))
    {
      if (rebind_again (task, error))
        {
          g_clear_error (&error);
          rebind_later (BGT_CLIENT (source), g_steal_pointer (&task));
          return;
        }
      fail_waiter (self, task, error);
      return;
    }
  bgt_transfer_refresh_async (self, NULL, on_wait_refreshed, g_steal_pointer (&task));
}

static void
on_wait_refreshed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtTransfer *self = BGT_TRANSFER (source);
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);
  GError *error = NULL;

  if (!bgt_transfer_refresh_finish (self, result, &error) && rebind_again (task, error))
    {
      /* The service went away just then: start it again */
      g_clear_error (&error);
      rebind_later (priv->client, g_steal_pointer (&task));
      return;
    }
  if (error != NULL)
    {
      fail_waiter (self, task, error);
      return;
    }
  /* Finished already: _bgt_transfer_update() answered it */
}

static void
on_wait_cancelled (GCancellable *cancellable, gpointer user_data)
{
  g_autoptr (GTask) task = g_object_ref (user_data);
  BgtTransfer *self = g_task_get_source_object (task);
  BgtTransferPrivate *priv = bgt_transfer_get_instance_private (self);

  /* Still waiting: stop waiting (the transfer goes on) */
  if (g_ptr_array_remove (priv->waiters, task))
    g_task_return_error_if_cancelled (task);
}

/**
 * bgt_transfer_wait_async:
 * @self: a #BgtTransfer
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when the transfer has ended
 * @user_data: data for @callback
 *
 * Waits until the transfer has ended (at once if it has).
 * Cancelling the wait does not cancel the transfer.
 *
 * Since: 0.1
 */
void
bgt_transfer_wait_async (BgtTransfer *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data)
{
  BgtTransferPrivate *priv;
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_return_if_fail (BGT_IS_TRANSFER (self));
  priv = bgt_transfer_get_instance_private (self);
  g_task_set_source_tag (task, bgt_transfer_wait_async);
  g_task_set_return_on_cancel (task, FALSE);

  g_ptr_array_add (priv->waiters, g_object_ref (task));
  if (cancellable != NULL)
    g_cancellable_connect (cancellable, G_CALLBACK (on_wait_cancelled), g_object_ref (task),
                           g_object_unref);
  /* The service's signals have kept the state current since it was read:
   * no need to ask (a thousand small downloads waited for would cost a
   * thousand calls) */
  if (is_current (self))
    {
      if (bgt_status_is_finished (priv->status))
        complete_waiters (self);
      return;
    }
  /* Reads the state afresh: an end that came before we listened counts */
  bgt_transfer_refresh_async (self, NULL, on_wait_refreshed, g_steal_pointer (&task));
}

/**
 * bgt_transfer_wait_finish:
 * @self: a #BgtTransfer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_transfer_wait_async().
 *
 * Returns: %TRUE if the transfer completed; otherwise %FALSE with @error
 *   set to %BGT_ERROR_TRANSFER_FAILED (its message says why) or
 *   %BGT_ERROR_TRANSFER_CANCELED
 *
 * Since: 0.1
 */
gboolean
bgt_transfer_wait_finish (BgtTransfer *self, GAsyncResult *result, GError **error)
{
  return method_finish (self, result, bgt_transfer_wait_async, error);
}

static void
on_wait_sync_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/**
 * bgt_transfer_wait_sync:
 * @self: a #BgtTransfer
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The blocking variant of bgt_transfer_wait_async(), for scripts. It runs
 * the thread-default main context while it waits.
 *
 * Returns: %TRUE if the transfer completed
 *
 * Since: 0.1
 */
gboolean
bgt_transfer_wait_sync (BgtTransfer *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  GMainContext *context = g_main_context_ref_thread_default ();

  bgt_transfer_wait_async (self, cancellable, on_wait_sync_done, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_unref (context);
  return bgt_transfer_wait_finish (self, result, error);
}
