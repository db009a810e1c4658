// The one thread helper of the kernels: a fork/join over shares of the tasks, run by a pool of threads
// that wait between calls. Starting threads per call cost more than the memory-bound kernels themselves
// on a busy machine: the caller had to wait until each new thread was scheduled, even to find no work
// left. A pool thread that wakes after the tasks ran out is not waited for. Waiting threads spin for a
// while before they sleep, as OpenMP's do: a training step makes a call every few tens of µs, and waking a
// sleeping thread took long enough that the caller often did a small kernel's work alone.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace crackdiff {

namespace detail {

struct Job {
  std::function<void(int)> loop;  // runs tasks as the given worker until none are left
  std::atomic<int> nextWorker{1};
  int workers = 1;
};

// Spins until done() or about `micros` µs have passed; returns done().
template <class F>
inline bool spinUntil(F&& done, int micros) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(micros);
  for (int i = 0;; i++) {
    if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if (i % 64 == 63 && std::chrono::steady_clock::now() > until) return done();
  }
}

constexpr int kSpinMicros = 100;

class Pool {
 public:
  // Runs job.loop on the calling thread (worker 0) and on up to job.workers − 1 pool threads, returning
  // when every thread that took part has finished.
  void run(Job& job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (threads_ < job.workers - 1) {
        std::thread([this] { serve(); }).detach();  // the pool lives as long as the process
        threads_++;
      }
      job_ = &job;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    job.loop(0);
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = nullptr;  // no thread joins from now on
    }
    if (spinUntil([this] { return inside_.load() == 0; }, kSpinMicros)) return;
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return inside_.load() == 0; });
  }

 private:
  void serve() {
    std::uint64_t seen = 0;
    for (;;) {
      spinUntil([&] { return generation_.load() != seen; }, kSpinMicros);
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      seen = generation_.load();
      Job* job = job_;
      if (!job) continue;
      const int worker = job->nextWorker.fetch_add(1);
      if (worker >= job->workers) continue;
      inside_++;
      lock.unlock();
      job->loop(worker);
      lock.lock();
      if (--inside_ == 0) done_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::atomic<std::uint64_t> generation_{0};  // changed under mu_; read by spinning threads without it
  Job* job_ = nullptr;
  std::atomic<int> inside_{0};  // pool threads running the current job
  int threads_ = 0;
};

inline Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: its detached threads may outlive static destructors
  return *p;
}

inline std::atomic<bool>& poolBusy() {
  static std::atomic<bool> busy{false};
  return busy;
}

}  // namespace detail

// Runs fn(task, worker) for every task in [0, tasks) on up to `workers` threads (worker < workers). Each
// worker starts on its own contiguous share of the tasks, in order, then takes the last tasks left in the
// others' shares, so a thread slowed by another process takes fewer of them; and as consecutive kernels split
// their rows alike, a thread mostly reads what it wrote itself (a shared counter sent about half of every
// layer's input from one core's cache to the other's).
template <class F>
void parallelFor(int tasks, int workers, F&& fn) {
  workers = std::max(1, std::min(workers, tasks));
  // One call at a time uses the pool; a nested or concurrent one runs on its caller's thread alone.
  if (workers == 1 || detail::poolBusy().exchange(true)) {
    for (int t = 0; t < tasks; t++) fn(t, 0);
    return;
  }
  // A share's next task and its end, in one word so that its owner and a thief never take the same task.
  const auto pack = [](std::uint64_t next, std::uint64_t end) { return next << 32 | end; };
  const std::unique_ptr<std::atomic<std::uint64_t>[]> shares(new std::atomic<std::uint64_t>[workers]);
  for (int w = 0; w < workers; w++)
    shares[w].store(pack(static_cast<std::uint64_t>(tasks) * w / workers, static_cast<std::uint64_t>(tasks) * (w + 1) / workers));
  // The first (front) or last task left in a share, or −1.
  const auto take = [&](std::atomic<std::uint64_t>& share, bool front) {
    std::uint64_t now = share.load();
    for (;;) {
      const std::uint64_t next = now >> 32, end = now & 0xffffffffu;
      if (next >= end) return -1;
      if (share.compare_exchange_weak(now, front ? pack(next + 1, end) : pack(next, end - 1)))
        return static_cast<int>(front ? next : end - 1);
    }
  };
  detail::Job job;
  job.workers = workers;
  job.loop = [&](int worker) {
    for (int t; (t = take(shares[worker], true)) >= 0;) fn(t, worker);
    for (int k = 1; k < workers; k++)
      for (int t; (t = take(shares[(worker + k) % workers], false)) >= 0;) fn(t, worker);
  };
  detail::pool().run(job);
  detail::poolBusy().store(false);
}

}  // namespace crackdiff
