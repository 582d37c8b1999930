using System.Collections.Concurrent;
using DataPlane.Linux;

namespace DataPlane.Host.Runtime;

/// <summary>
/// Work for the packet loop from other threads (control commands, policy answers): queued, then the
/// loop's eventfd is signalled so epoll wakes. The loop runs the items between batches, so its state is
/// only ever touched by its own thread.
/// </summary>
public sealed class LoopWork : IDisposable
{
    private readonly ConcurrentQueue<Action> _queue = new();

    public EventFd Wake { get; } = new();

    /// <summary>Run <paramref name="work"/> on the loop and get its result.</summary>
    public Task<T> Post<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Enqueue(() =>
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        Wake.Signal();
        return done.Task;
    }

    public void Post(Action work)
    {
        _queue.Enqueue(work);
        Wake.Signal();
    }

    /// <summary>On the loop thread: run everything queued so far.</summary>
    public void RunPending()
    {
        Wake.Drain();
        while (_queue.TryDequeue(out var work)) work();
    }

    public void Dispose() => Wake.Dispose();
}
