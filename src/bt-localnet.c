/* bt-localnet.c: keeping sandboxed apps off the local network
 *
 * A sandboxed app must not use the service to reach what its sandbox keeps
 * it from: this machine's own services and the local network (FAULTS X3).
 * The address is checked as GSocketClient is about to connect to it, and
 * again once connected, so that it is the address really used, whatever
 * the name resolved to and on every redirect hop; the request has not been
 * sent yet at that point.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-localnet.h"
#include "bt-validate.h"

/*
 * bt_connection_may_be_reached:
 *
 * Whether @connection's peer is outside this machine and the local
 * network. Any thread.
 */
gboolean
bt_connection_may_be_reached (GSocketConnection *connection)
{
  g_autoptr (GSocketAddress) address = g_socket_connection_get_remote_address (connection, NULL);

  return address != NULL && G_IS_INET_SOCKET_ADDRESS (address)
         && !bt_address_is_local (
             g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
}

typedef struct
{
  GCancellable *cancellable;
  gboolean *denied;
} Guard;

static void
guard_free (gpointer data, GClosure *closure)
{
  Guard *guard = data;

  g_object_unref (guard->cancellable);
  g_free (guard);
}

static void
on_network_event (SoupMessage *msg, GSocketClientEvent event, GIOStream *connection,
                  gpointer user_data)
{
  Guard *guard = user_data;

  /* About to connect (GSocketClient gives the address it will use) and
   * once connected: refused either way, so that an open local port and a
   * closed one look the same to the app (no port scanning through us) */
  g_autoptr (GSocketAddress) address = NULL;

  if ((event != G_SOCKET_CLIENT_CONNECTING && event != G_SOCKET_CLIENT_CONNECTED)
      || !G_IS_SOCKET_CONNECTION (connection))
    return;
  /* Before connecting, an address GSocketClient does not tell is left to
   * the check once connected */
  address = g_socket_connection_get_remote_address (G_SOCKET_CONNECTION (connection), NULL);
  if (event == G_SOCKET_CLIENT_CONNECTING && address == NULL)
    return;
  if (!bt_connection_may_be_reached (G_SOCKET_CONNECTION (connection)))
    {
      *guard->denied = TRUE;
      /* Closed before GSocketClient connects it: not even a SYN leaves */
      if (event == G_SOCKET_CLIENT_CONNECTING)
        g_socket_close (g_socket_connection_get_socket (G_SOCKET_CONNECTION (connection)), NULL);
      g_cancellable_cancel (guard->cancellable);
    }
}

/*
 * bt_forbid_local_network:
 * @denied: set to %TRUE when the message was stopped for this reason
 *
 * Stops @msg (by cancelling @cancellable) if it connects to a local
 * address. The message gets a connection of its own: a pooled one, made
 * for another transfer, would escape the check.
 */
void
bt_forbid_local_network (SoupMessage *msg, GCancellable *cancellable, gboolean *denied)
{
  Guard *guard = g_new0 (Guard, 1);

  guard->cancellable = g_object_ref (cancellable);
  guard->denied = denied;
  soup_message_add_flags (msg, SOUP_MESSAGE_NEW_CONNECTION);
  g_signal_connect_data (msg, "network-event", G_CALLBACK (on_network_event), guard, guard_free, 0);
}
