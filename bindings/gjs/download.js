#!/usr/bin/gjs -m
// download.js: download a file in the background with libbgtransfer, from GJS
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Usage: gjs -m download.js URI DESTINATION

import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import Bgt from 'gi://Bgt?version=1';
import System from 'system';

Gio._promisify(Bgt.Downloader.prototype, 'create_download_async', 'create_download_finish');
Gio._promisify(Bgt.Transfer.prototype, 'wait_async', 'wait_finish');

async function main([uri, destination]) {
    if (!uri || !destination) {
        printerr('usage: download.js URI DESTINATION');
        return 2;
    }
    const client = Bgt.Client.new_sync('org.freedesktop.BackgroundTransfer.ExampleGjs', null);
    const downloader = Bgt.Downloader.new(client);
    let download;
    try {
        download = await downloader.create_download_async(
            uri, Gio.File.new_for_commandline_arg(destination), null);
    } catch (e) {
        printerr(`cannot download: ${e.message}`);
        return 1;
    }
    // The size is unknown (-1) until the server says it
    const reportProgress = transfer => {
        if (transfer.total_bytes_to_receive >= 0)
            print(`${transfer.bytes_received}/${transfer.total_bytes_to_receive} bytes`);
    };
    // The download may have made progress, or ended, before it got here:
    // report where it is, then every change
    reportProgress(download);
    download.connect('notify::bytes-received', reportProgress);
    try {
        await download.wait_async(null);
    } catch (e) {
        printerr(`failed: ${e.message}`);
        return 1;
    }
    print(`saved ${destination}`);
    return 0;
}

const loop = new GLib.MainLoop(null, false);
let status = 1;
main(ARGV).then(s => {
    status = s;
}).catch(e => {
    logError(e);
}).finally(() => loop.quit());
loop.run();
System.exit(status);
