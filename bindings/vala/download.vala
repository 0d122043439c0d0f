/* download.vala: download a file in the background with libbgtransfer, from Vala
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Build and run (the vapi is generated from the GIR and installed with
 * the library):
 *   valac --pkg bgtransfer-1 download.vala
 *   ./download URI DESTINATION
 *
 * The download is handed to the background transfer service: if this
 * program is stopped, the transfer goes on.
 */

void report_progress (Bgt.Download download) {
    var total = (int64) download.total_bytes_to_receive;
    if (total >= 0) {
        print ("%" + int64.FORMAT + "/%" + int64.FORMAT + " bytes\n",
               (int64) download.bytes_received, total);
    }
}

async int download (string uri, string destination) {
    Bgt.Download download;
    try {
        // Connects to the service on the session bus (D-Bus starts it if
        // need be) as the application with this id
        var client = yield new Bgt.Client ("org.freedesktop.BackgroundTransfer.ExampleVala", null);
        // A downloader holds the defaults of the downloads it creates
        var downloader = new Bgt.Downloader (client);
        download = yield downloader.create_download_async (
            uri, File.new_for_commandline_arg (destination), null);
    } catch (Error e) {
        printerr ("cannot download: %s\n", e.message);
        return 1;
    }

    // Progress: the service sends it at most ten times a second. The size
    // is unknown until the server says it (the cast maps "unknown" to -1).
    // The download may have made progress, or ended, before it got here:
    // report where it is, then every change.
    report_progress (download);
    download.notify["bytes-received"].connect (() => report_progress (download));

    try {
        // Throws when the transfer failed or was canceled: the message
        // names the reason (an ErrorStatus such as "not-found")
        yield download.wait_async (null);
    } catch (Error e) {
        printerr ("failed: %s\n", e.message);
        return 1;
    }
    print ("saved %s\n", destination);
    return 0;
}

int main (string[] args) {
    if (args.length != 3) {
        printerr ("usage: %s URI DESTINATION\n", args[0]);
        return 2;
    }
    var loop = new MainLoop ();
    int status = 1;
    download.begin (args[1], args[2], (obj, res) => {
        status = download.end (res);
        loop.quit ();
    });
    loop.run ();
    return status;
}
